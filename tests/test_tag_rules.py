"""One tag rule for every construct that takes tags: AWS's limits on keys and values."""

from __future__ import annotations

import pytest

from sagemaker_constructs import (
    ConstructValidationError,
    LifecycleScript,
    NotebookInstance,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
    StudioUserProfile,
)
from tests.conftest import isolated_vpc, new_stack

LONG_VALUE = "v" * 300  # AWS allows tag values of at most 256 characters


def _notebook(stack, tags):
    NotebookInstance(stack, "Nb", instance_type="ml.t3.medium", vpc=isolated_vpc(stack), tags=tags)


def _domain(stack, tags):
    StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), tags=tags)


def _profile(stack, tags):
    domain = StudioDomain(stack, "Domain", vpc=isolated_vpc(stack))
    StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="team-alice", tags=tags)


def _image(stack, tags):
    StudioCustomImage(stack, "Image", image_name="prophet", tags=tags)


def _lifecycle(stack, tags):
    StudioLifecycleConfig(
        stack, "LC", script=LifecycleScript.from_text("#!/bin/bash\necho hi\n"), tags=tags
    )


BUILDERS = [_notebook, _domain, _profile, _image, _lifecycle]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_a_tag_value_over_256_characters_is_rejected(build):
    with pytest.raises(ConstructValidationError, match=r"tags\['team'\]: got 'v{300}'"):
        build(new_stack(), {"team": LONG_VALUE})


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_a_reserved_key_is_rejected_and_a_valid_tag_accepted(build):
    with pytest.raises(ConstructValidationError, match=r"tags\['aws:team'\]"):
        build(new_stack(), {"aws:team": "x"})
    # The longest value the resource accepts: 256 for a notebook; the SageMaker Studio
    # resources' registry schemas allow 128 (tests/fuzz/support.py BUGS["studio_tags"]).
    longest = 256 if build is _notebook else 128
    build(new_stack(), {"team": "v" * longest})
    with pytest.raises(ConstructValidationError, match=r"tags\['team'\]"):
        build(new_stack(), {"team": "v" * (longest + 1)})
