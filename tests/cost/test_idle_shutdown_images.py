"""An image without the activity monitor under idle shutdown is a warning naming it."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match

from sagemaker_constructs import StudioCustomImage
from tests.test_studio_domain import make

WARNING = "image-without-activity-monitor"


def image(domain, name, **props):
    return StudioCustomImage(
        Stack.of(domain), f"Image-{name}", image_name=name, image_tag="1", **props
    )


def warnings(stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(WARNING))
    return [str(w.entry.data) for w in found]


def test_image_without_monitor_under_idle_shutdown_is_named_in_a_warning():
    domain = make(idle_timeout_minutes=60)
    domain.add_custom_image(image(domain, "plain"))
    domain.add_custom_image(image(domain, "monitored", activity_monitor=True))
    found = warnings(Stack.of(domain))
    assert len(found) == 1, found
    assert "Image plain" in found[0] and "SageMaker Distribution 2.0" in found[0]


def test_no_warning_without_idle_shutdown():
    domain = make(idle_timeout_minutes=None)
    domain.add_custom_image(image(domain, "plain"))
    assert warnings(Stack.of(domain)) == []
