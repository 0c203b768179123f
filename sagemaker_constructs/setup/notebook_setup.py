"""Typed lifecycle steps composed into on-create and on-start scripts.

A :class:`NotebookSetup` turns a list of steps (persistent conda environments, package
installs, idle auto-stop, connectivity checks, a private package index) into two bash
scripts built from the tested fragments in :mod:`lifecycle_scripts`. Anything that can
take more than seconds runs detached, so a start never hits the 5-minute limit; a step
marked ``optional`` may fail without failing the start.

Example::

    setup = NotebookSetup(steps=[
        PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi"),
        CondaEnvironment(name="forecast", python_version="3.11",
                         pip_packages=["pandas==2.2.3"]),
        PackageInstall(kernel="python3", pip_packages=["requests==2.32.3"], optional=True),
        IdleAutoStop(idle_minutes=60),
    ])
    NotebookLifecycleConfig(stack, "Lifecycle", setup=setup)
"""

from __future__ import annotations

import ast
import base64
import gzip
import io
import json
import re
import shlex
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

# mypy cannot follow the setuptools package-dir mapping of this subpackage (it checks the
# folder as the top-level module lifecycle_scripts instead; see pyproject.toml).
from sagemaker_constructs import lifecycle_scripts  # type: ignore[attr-defined]
from sagemaker_constructs.setup.platforms import DEFAULT_PLATFORM, PLATFORMS

#: Kernels every notebook instance on the default platform (Amazon Linux 2023) has, by conda
#: environment name; other platforms' are in ``setup.platforms.PLATFORMS``.
BUILT_IN_KERNELS: Final = PLATFORMS[DEFAULT_PLATFORM].built_in_envs

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PYTHON_VERSION = re.compile(r"3\.[0-9]{1,2}")
_PIP_SPEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+")
_CONDA_SPEC = re.compile(r"([A-Za-z0-9_.-]+::)?[A-Za-z0-9][A-Za-z0-9._-]*={1,2}[A-Za-z0-9.+!_*-]+")
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?")
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?")
_CA_DOMAIN = re.compile(r"[a-z][a-z0-9-]{0,48}[a-z0-9]")
CA_DOMAIN_ALLOWED = (
    "2 to 50 lower-case letters, digits and hyphens, starting with a letter and ending "
    "with a letter or digit"
)
CA_REPOSITORY_ALLOWED = "2 to 100 letters, digits, '.', '_' or '-'"
_CA_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}")

# An S3 bucket name; in a CondaChannelS3 {account} and {region} may stand for the notebook's.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_ALLOWED = (
    "an S3 bucket name known at synth time (lower-case letters, digits, '.' and '-'; "
    "'{account}' and '{region}' stand for the notebook's own)"
)
_S3_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}(?<!/)")
S3_PREFIX_ALLOWED = (
    "1 to 200 letters, digits, '.', '_', '-' or '/', not starting or ending with '/'"
)
_LOCAL_DIR = re.compile(r"/[A-Za-z0-9._/-]{1,200}(?<!/)")
LOCAL_DIR_ALLOWED = "an absolute path of letters, digits, '.', '_', '-' and '/'"

PIP_ALLOWED = "a pinned pip requirement, name==version (e.g. pandas==2.2.3)"
CONDA_ALLOWED = "a pinned conda spec, name=version (e.g. numpy=1.26.4)"


# --- steps ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CondaEnvironment:
    """A conda environment kept on the notebook volume and shown as a Jupyter kernel.

    Created detached on create; registered as a kernel on every start, with Jupyter
    restarted only when one was added. If the notebook is stopped while the environment
    is being created, each later start logs that the creation was interrupted (delete the
    environment's folder under ``SageMaker/envs`` and re-create it from a terminal).

    Attributes:
        name: Environment and kernel name (shown as ``conda_<name>``).
        python_version: ``3.<minor>``. Default: 3.11. Not used with ``base_environment``
            (the environment has the built-in one's Python).
        conda_packages: Pinned conda specs (``name=version``). Default: none.
        pip_packages: Pinned pip requirements (``name==version``). Default: none.
        base_environment: A built-in environment of the notebook's platform (e.g.
            ``python3``) to build this one from without any conda channel: a venv of its
            interpreter that sees its packages (``--system-site-packages``), then
            ``pip_packages`` from the package index; no ``conda_packages``. Default: a
            new conda environment, which needs a conda channel (see :class:`PackageIndex`).
        optional: A failure is logged and does not count. Default: required.
    """

    name: str
    python_version: str = "3.11"
    conda_packages: Sequence[str] = ()
    pip_packages: Sequence[str] = ()
    base_environment: str | None = None
    optional: bool = False

    @property
    def label(self) -> str:
        return f"conda-environment:{self.name}"


@dataclass(frozen=True, kw_only=True)
class PackageInstall:
    """Pinned packages installed into a kernel's environment, as ec2-user, activated.

    Into a :class:`CondaEnvironment` of the same setup: once, right after it is created
    (the environment persists). Into a built-in kernel (:data:`BUILT_IN_KERNELS`): on every
    start, since those live outside the volume. Always detached.

    Attributes:
        kernel: A built-in kernel or the name of a CondaEnvironment of this setup.
        pip_packages: Pinned pip requirements. Default: none.
        conda_packages: Pinned conda specs. Default: none.
        optional: A failure is logged and does not count. Default: required.
    """

    kernel: str
    pip_packages: Sequence[str] = ()
    conda_packages: Sequence[str] = ()
    optional: bool = False

    @property
    def label(self) -> str:
        return f"packages:{self.kernel}"


@dataclass(frozen=True, kw_only=True)
class IdleAutoStop:
    """Stop the notebook when its kernels and terminals have been idle for ``idle_minutes``.

    The checker ships inside the lifecycle script (nothing is downloaded) and runs every
    ``check_interval_minutes`` from a systemd timer. It reads the local Jupyter server's
    kernels and terminals and their own activity times (never the server's, which an open
    browser tab moves on every poll): a busy kernel, a kernel or terminal active recently, or
    a detached lifecycle step still running (an environment being created) keeps the notebook
    running. It stops only its own notebook, through the SageMaker API endpoint in the VPC,
    with the notebook's role (which is granted exactly that), and logs each check to
    CloudWatch (stream ``<notebook>/idle-autostop``).

    Attributes:
        idle_minutes: 5 to 10080. Default: 60.
        ignore_connections: Open browser tabs do not count as activity. Default: they do.
        check_interval_minutes: 1 to 60, at most ``idle_minutes``. Default: 5.
        terminal_idle_minutes: 5 to 10080: a terminal counts as idle once it has had no input
            or output for this long. A job that prints nothing in a terminal is invisible to
            Jupyter, so give terminals a longer period if people run quiet jobs there.
            Default: ``idle_minutes``.
    """

    idle_minutes: int = 60
    ignore_connections: bool = False
    check_interval_minutes: int = 5
    terminal_idle_minutes: int | None = None
    optional: bool = False

    @property
    def label(self) -> str:
        return "idle-auto-stop"


@dataclass(frozen=True, kw_only=True)
class ConnectivityCheck:
    """Log whether the notebook reaches ``url`` (HTTP HEAD).

    Attributes:
        url: An http(s) URL.
        timeout_seconds: 1 to 30. Default: 5.
        optional: When ``False``, an unreachable ``url`` fails the start. Default: a
            failure is logged and the start goes on.
    """

    url: str
    timeout_seconds: int = 5
    optional: bool = True

    @property
    def label(self) -> str:
        return "connectivity-check"


@dataclass(frozen=True, kw_only=True)
class CondaChannelS3:
    """A static conda channel kept in S3, which a notebook without internet can read.

    Made by :class:`~sagemaker_constructs.CondaChannel` (its ``source``); give it to
    :class:`PackageIndex` as ``conda_channel_s3``. The lifecycle scripts copy the channel
    to ``local_dir`` with the notebook's role (through the S3 gateway endpoint) and make
    that copy the only channel in the user's ``~/.condarc``; the notebook's role gets read
    on ``prefix`` and decrypt with ``key_arn``.

    Attributes:
        bucket_name: The bucket's name as text, known at synth time. ``{account}`` and
            ``{region}`` in it stand for the notebook's own (filled in on the host).
        prefix: Key prefix holding the channel (``noarch/``, ``linux-64/``). Default:
            ``conda-channel``.
        key_arn: The KMS key encrypting the objects (may be a token). Default: none
            (objects encrypted with S3-managed keys).
        local_dir: Where the host keeps its copy. Default:
            ``/var/tmp/sagemaker-constructs/conda-channel``.
        on_every_start: Copy the channel (detached) on every start too, so that conda in
            terminals has it after a restart (a stop resets the home directory and
            ``/var/tmp``). Default: copied on create (before the environments are made)
            and on a start only before conda installs into built-in environments; the
            on-start script stays smaller.
    """

    bucket_name: str
    prefix: str = "conda-channel"
    key_arn: str | None = None
    local_dir: str = "/var/tmp/sagemaker-constructs/conda-channel"
    on_every_start: bool = False

    def bucket_for(self, account: str, region: str) -> str:
        """The bucket's name in ``account`` and ``region`` (tokens allowed)."""
        return self.bucket_name.replace("{account}", account).replace("{region}", region)


@dataclass(frozen=True, kw_only=True)
class PackageIndex:
    """The package sources of every kernel: a pip index and/or a conda channel.

    pip: give either ``pip_index_url`` or a CodeArtifact domain and repository in the
    notebook's own account (see :class:`~sagemaker_constructs.PackageMirror`); for
    CodeArtifact the notebook's role gets read access to that repository and a token is
    fetched on each start. conda: ``conda_channel`` (a URL the notebook reaches) or
    ``conda_channel_s3`` (see :class:`~sagemaker_constructs.CondaChannel`). At least one
    of the two kinds. The pip index is set up before every other step, on create and on
    start; the S3 channel is copied at the start of the detached step that uses it.

    Attributes:
        pip_index_url: An https PEP 503 simple index. Default: none.
        code_artifact_domain: CodeArtifact domain name. Default: none.
        code_artifact_repository: CodeArtifact repository name. Default: none.
        conda_channel: An https conda channel. Default: none.
        conda_channel_s3: A static conda channel in S3. Default: none.
    """

    pip_index_url: str | None = None
    code_artifact_domain: str | None = None
    code_artifact_repository: str | None = None
    conda_channel: str | None = None
    conda_channel_s3: CondaChannelS3 | None = None
    optional: bool = False

    @property
    def has_pip(self) -> bool:
        return bool(self.pip_index_url or self.code_artifact_domain)

    @property
    def has_conda(self) -> bool:
        return bool(self.conda_channel or self.conda_channel_s3)

    @property
    def label(self) -> str:
        return "package-index"


@dataclass(frozen=True, kw_only=True)
class CustomStep:
    """A team's own bash commands, run by the same runner as the other steps.

    Attributes:
        name: Step name in logs and file names (letters, digits, ``-``, ``_``, ``.``).
        on_create: Bash run on create. Default: none.
        on_start: Bash run on every start. Default: none.
        detached: Run in the background (anything that may take more than seconds).
            Default: foreground.
        optional: A failure is logged and does not fail the start. Default: required.
    """

    name: str
    on_create: str | None = None
    on_start: str | None = None
    detached: bool = False
    optional: bool = False

    @property
    def label(self) -> str:
        return f"custom:{self.name}"


@dataclass(frozen=True, kw_only=True)
class EnvironmentVariables:
    """Environment variables every kernel and terminal of the notebook user sees.

    Written on every start (the home directory is reset on stop) into an IPython startup
    file (every Python kernel, in any environment) and a marked block of ``~/.bashrc``
    (terminals); no Jupyter restart. Kernels already running keep their environment.

    The values are in the lifecycle configuration, readable by anyone who may describe it
    and in the CloudFormation template: **no secrets** (names that look like one are
    rejected); keep those in Secrets Manager and read them from the notebook.

    Attributes:
        values: Names (``[A-Za-z_][A-Za-z0-9_]*``, not ``PATH``, ``HOME``, ...) to values
            (at most 4096 characters, one line).
        optional: A failure is logged and does not fail the start. Default: required.
    """

    values: Mapping[str, str]
    optional: bool = False

    @property
    def label(self) -> str:
        return "environment-variables"


@dataclass(frozen=True, kw_only=True)
class JupyterLabExtension:
    """JupyterLab extensions installed with pip from the package index into Jupyter's env.

    Into the environment the Jupyter server runs in (``JupyterSystemEnv``; JupyterLab 4 on
    Amazon Linux 2023), as a pinned pip install, detached, on every start (that environment
    is not on the volume). Jupyter is not restarted: a prebuilt (frontend) extension shows
    after the user reloads the browser tab; one with a server part takes effect from the
    next start.

    Attributes:
        pip_packages: Pinned pip requirements, e.g. ``jupyterlab-git==0.51.2``.
        optional: A failure is logged and does not count. Default: optional (an extension
            is a convenience).
    """

    pip_packages: Sequence[str]
    optional: bool = True

    @property
    def label(self) -> str:
        return "jupyterlab-extensions"


@dataclass(frozen=True, kw_only=True)
class PipInstallEverywhere:
    """Pinned pip packages installed into every kernel's environment.

    The built-in environments of the notebook's platform on every start, and each
    :class:`CondaEnvironment` of this setup once, right after it is created. Detached.

    Attributes:
        pip_packages: Pinned pip requirements.
        optional: A failure is logged and does not count. Default: required.
    """

    pip_packages: Sequence[str]
    optional: bool = False

    @property
    def label(self) -> str:
        return "pip-everywhere"


@dataclass(frozen=True, kw_only=True)
class HomeBackup:
    """Back up ``/home/ec2-user/SageMaker`` to S3, and restore it on create.

    On create, a backup under ``s3://bucket_name/<prefix>`` (of the same person, from an
    earlier notebook) is restored, detached, without overwriting anything. On start, a
    systemd timer backs the folder up every ``interval_minutes`` (changed files only, SSE-KMS
    with ``kms_key_arn``, through the VPC's S3 gateway endpoint) and idle auto-stop runs one
    more backup before it stops the notebook. Files deleted on the notebook stay in the
    backup. Each notebook's role gets read and write on exactly its own prefix (and the key).

    One lifecycle configuration usually serves a whole team, so the prefix may name the
    person: ``{owner}`` is the person ``owners`` maps the notebook's name to, ``{notebook}``
    the notebook's own name. On the host the notebook reads its name from
    ``/opt/ml/metadata/resource-metadata.json`` (``ResourceName``). A notebook that is not
    in ``owners`` backs up and restores nothing: the step logs why and fails (a required
    step fails the start; see ``optional``). Keying the prefix by person is what lets a
    replacement notebook (``vision-frank-g1``) find the backup of the one it replaces
    (``vision-frank``).

    Attributes:
        bucket_name: The team's bucket (a token, e.g. ``bucket.bucket_name``, is fine).
        prefix: The key prefix, ending in ``/``, e.g. ``home/{owner}/`` or ``home/alice/``
            (letters, digits, ``._-/`` and the placeholders ``{owner}``, ``{notebook}``).
        owners: Notebook name -> person, needed for ``{owner}``. Default: none.
        kms_key_arn: The bucket's key. Default: the bucket's default encryption decides.
        interval_minutes: 5 to 1440. Default: 60.
        exclude: Folders of the SageMaker folder not backed up. Default: ``envs`` (the
            conda environments, rebuilt from the setup).
        optional: A failure is logged and does not fail the start. Default: required.
    """

    bucket_name: str
    prefix: str
    owners: Mapping[str, str] | None = None
    kms_key_arn: str | None = None
    interval_minutes: int = 60
    exclude: tuple[str, ...] = ("envs",)
    optional: bool = False

    @property
    def label(self) -> str:
        return "home-backup"

    def prefix_for(self, notebook_name: str) -> str | None:
        """The prefix notebook ``notebook_name`` backs up to; ``None`` when ``{owner}`` is
        in the prefix and the notebook is not in ``owners``."""
        owner = (self.owners or {}).get(notebook_name)
        if "{owner}" in self.prefix and owner is None:
            return None
        return self.prefix.replace("{notebook}", notebook_name).replace("{owner}", owner or "")


_BACKUP_PREFIX = re.compile(r"(?!/)(?!.*\.\./)[A-Za-z0-9._/-]{1,512}/")
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+")
_RELATIVE_DIR = re.compile(r"(?!/)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_BACKUP_PLACEHOLDERS = ("owner", "notebook")
#: A notebook instance's name (CreateNotebookInstance's pattern and length).
_NOTEBOOK_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: A person's name as a path segment of the prefix: no '/', not '.' or '..'.
_PERSON = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}")
PERSON_ALLOWED = "1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..')"


def _unresolved(value: object) -> bool:
    """A CDK token (resolved at deploy time): not checked here."""
    from aws_cdk import Token  # the rest of the setup needs no CDK

    return isinstance(value, str) and Token.is_unresolved(value)


def _home_backup_problems(step: HomeBackup) -> list[tuple[str, object, str]]:
    found: list[tuple[str, object, str]] = []
    if not _unresolved(step.bucket_name) and not _matches(_BUCKET_NAME, step.bucket_name):
        found.append(("bucket_name", step.bucket_name, "an S3 bucket name (3 to 63 characters)"))
    prefix = step.prefix if isinstance(step.prefix, str) else ""
    unknown = [p for p in _PLACEHOLDER.findall(prefix) if p not in _BACKUP_PLACEHOLDERS]
    sample = prefix.replace("{owner}", "person").replace("{notebook}", "notebook")
    if unknown:
        found.append(
            (
                "prefix",
                step.prefix,
                "the placeholders {owner} and {notebook} only, not "
                + ", ".join("{" + p + "}" for p in unknown),
            )
        )
    elif not _matches(_BACKUP_PREFIX, sample):
        found.append(
            (
                "prefix",
                step.prefix,
                "a key prefix ending in '/', of letters, digits, ._-/ and the placeholders "
                "{owner}, {notebook}",
            )
        )
    owners = step.owners
    if owners is not None and not isinstance(owners, Mapping):
        found.append(("owners", type(owners).__name__, "a mapping of notebook name to person"))
    elif "{owner}" in prefix and not owners:
        found.append(
            ("owners", owners, "a mapping of notebook name to person, for {owner} in prefix")
        )
    elif owners and "{owner}" not in prefix:
        found.append(("owners", dict(owners), "none unless prefix contains {owner}"))
    elif owners:
        for notebook, person in owners.items():
            if not _unresolved(notebook) and not _matches(_NOTEBOOK_NAME, notebook):
                found.append(
                    (
                        f"owners[{notebook!r}]",
                        notebook,
                        "a notebook name (1 to 63 letters, digits and hyphens)",
                    )
                )
            if not _matches(_PERSON, person):
                found.append((f"owners[{notebook!r}]", person, PERSON_ALLOWED))
    if (
        step.kms_key_arn is not None
        and not _unresolved(step.kms_key_arn)
        and not _matches(_KMS_KEY_ARN, step.kms_key_arn)
    ):
        found.append(("kms_key_arn", step.kms_key_arn, "a KMS key ARN"))
    if not _integer(step.interval_minutes, 5, 1440):
        found.append(("interval_minutes", step.interval_minutes, "an integer from 5 to 1440"))
    if not isinstance(step.exclude, list | tuple) or not all(
        _matches(_RELATIVE_DIR, e) for e in step.exclude
    ):
        found.append(("exclude", step.exclude, "a list of relative folder names"))
    return found


Step = (
    CondaEnvironment
    | PackageInstall
    | IdleAutoStop
    | ConnectivityCheck
    | PackageIndex
    | CustomStep
    | EnvironmentVariables
    | JupyterLabExtension
    | PipInstallEverywhere
    | HomeBackup
)


# --- composition ---------------------------------------------------------------------


@dataclass
class _Script:
    """A script being composed: fragments it embeds, then the steps it runs."""

    phase: str
    fragments: list[str] = field(default_factory=list)
    steps: list[tuple[str, str, bool, str]] = field(
        default_factory=list
    )  # name, mode, optional, body

    def use(self, *names: str) -> None:
        for name in names:
            if name not in self.fragments:
                self.fragments.append(name)

    def add(self, name: str, mode: str, optional: bool, body: str) -> None:
        self.steps.append((name, mode, optional, body))
        if mode == "detached":
            self.use("detached.sh", "cw_tee.py")


class _Shell(str):
    """A value the step's shell expands (it names host variables such as ${ANACONDA_DIR})."""


def _exports(values: dict[str, str]) -> str:
    def quoted(v: str) -> str:
        return f'"{v}"' if isinstance(v, _Shell) else shlex.quote(v)

    return "".join(f"export {k}={quoted(v)}\n" for k, v in values.items())


def _fragment_call(fragment: str, values: dict[str, str]) -> str:
    """Run a fragment in its own bash with its parameters (subshell keeps them local)."""
    interpreter = '"${SMC_SYSTEM_PYTHON}"' if fragment.endswith(".py") else "bash"
    return f'(\n{_exports(values)}{interpreter} "${{SMC_WORK_DIR}}/fragments/{fragment}"\n)\n'


class _StepList:
    """Steps in the order given, and their problems named after the step."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps: tuple[Step, ...] = tuple(steps)

    def problems(self) -> list[tuple[str, object, str]]:
        """Every invalid step field as (field, value, allowed); empty when valid.

        Fields are named ``steps[i] (<step label>).<field>`` so the message names the step.
        """
        return [
            (f"steps[{i}] ({_label(self.steps[i])}).{attr}", value, allowed)
            for i, attr, value, allowed in self.step_problems()
        ]

    def step_problems(self) -> list[tuple[int, str, object, str]]:
        raise NotImplementedError

    #: Whether the composed scripts fetch a PackageIndex's ``conda_channel_s3``.
    renders_conda_channel_s3: bool = True

    # -- package sources --

    def missing_sources(self) -> list[tuple[int, str, str]]:
        """Installing steps whose kind of package has no source in this setup.

        Each as (step index, kind, what the step installs of that kind); kind is ``pip``
        or ``conda``. Without direct internet access these steps cannot install anything.
        """
        index = next((s for s in self.steps if isinstance(s, PackageIndex)), None)
        channel_s3 = index is not None and index.conda_channel_s3 is not None
        have = {
            "pip": index is not None and index.has_pip,
            "conda": index is not None
            and (bool(index.conda_channel) or (channel_s3 and self.renders_conda_channel_s3)),
        }
        return [
            (i, kind, what)
            for i, step in enumerate(self.steps)
            for kind, what in package_kinds(step)
            if not have[kind]
        ]

    def source_problems(self) -> list[tuple[str, object, str]]:
        """:meth:`missing_sources` as problems (field, value, allowed), one per step and kind.

        For a notebook without direct internet access (the default); the constructs
        check it where a setup meets its notebook.
        """
        return [
            (
                f"steps[{i}] ({_label(self.steps[i])})",
                f"{kind} packages ({what}) with no {kind} source and no direct internet",
                SOURCE_FIX[kind](self.steps[i]),
            )
            for i, kind, what in self.missing_sources()
        ]


class NotebookSetup(_StepList):
    """Steps for a notebook, composed into on-create and on-start scripts.

    Attributes:
        steps: The steps, in the order given.
        platform: The notebook's ``PlatformIdentifier``; built-in kernels are checked against it.
    """

    def __init__(self, steps: Sequence[Step], *, platform: str = DEFAULT_PLATFORM) -> None:
        super().__init__(steps)
        self.platform = platform

    def _built_in(self) -> tuple[str, ...]:
        facts = PLATFORMS.get(self.platform)
        return facts.built_in_envs if facts else BUILT_IN_KERNELS

    # -- validation --

    def step_problems(self) -> list[tuple[int, str, object, str]]:
        """Every invalid step field as (step index, field, value, allowed)."""
        found: list[tuple[int, str, object, str]] = []
        env_names = [
            s.name
            for s in self.steps
            if isinstance(s, CondaEnvironment) and isinstance(s.name, str)
        ]
        seen_singletons: set[type] = set()
        seen_envs: set[str] = set()
        name_rule = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        built_in = self._built_in()

        def add(i: int, attr: str, value: object, allowed: str) -> None:
            found.append((i, attr, value, allowed))

        def specs(i: int, attr: str, values: object, rx: re.Pattern[str], allowed: str) -> None:
            if not isinstance(values, list | tuple):
                add(
                    i,
                    attr,
                    values,
                    "a list of specs, not one string"
                    if isinstance(values, str)
                    else "a list of specs",
                )
                return
            for j, value in enumerate(values):
                if not _matches(rx, value):
                    add(i, f"{attr}[{j}]", value, allowed)

        def integer(i: int, attr: str, value: object, low: int, high: int) -> bool:
            if _integer(value, low, high):
                return True
            add(i, attr, value, f"an integer from {low} to {high}")
            return False

        def flag(i: int, step: object, attr: str) -> None:
            if hasattr(step, attr) and not isinstance(getattr(step, attr), bool):
                add(i, attr, getattr(step, attr), "True or False")

        def optional_text(i: int, attr: str, value: object, rx: re.Pattern[str], rule: str) -> None:
            if value is not None and not _matches(rx, value):
                add(i, attr, value, rule)

        for i, step in enumerate(self.steps):
            if not isinstance(step, Step):
                add(
                    i,
                    "type",
                    type(step).__name__,
                    "a CondaEnvironment, PackageInstall, IdleAutoStop, ConnectivityCheck, "
                    "PackageIndex, CustomStep, EnvironmentVariables, JupyterLabExtension, "
                    "PipInstallEverywhere or HomeBackup",
                )
                continue
            for attr in ("optional", "detached", "ignore_connections"):
                flag(i, step, attr)
            if isinstance(step, IdleAutoStop | PackageIndex | EnvironmentVariables | HomeBackup):
                if type(step) in seen_singletons:
                    add(i, "type", type(step).__name__, "at most one per setup")
                seen_singletons.add(type(step))
            if isinstance(step, CondaEnvironment):
                if not _matches(_ENV_NAME, step.name):
                    add(i, "name", step.name, name_rule)
                elif step.name in built_in or step.name == "JupyterSystemEnv":
                    add(i, "name", step.name, "a name that is not a built-in kernel's")
                elif step.name in seen_envs:
                    add(i, "name", step.name, "a name used by one CondaEnvironment only")
                else:
                    seen_envs.add(step.name)
                if not _matches(_PYTHON_VERSION, step.python_version):
                    add(i, "python_version", step.python_version, "3.<minor>, e.g. 3.11")
                specs(i, "conda_packages", step.conda_packages, _CONDA_SPEC, CONDA_ALLOWED)
                specs(i, "pip_packages", step.pip_packages, _PIP_SPEC, PIP_ALLOWED)
                base = step.base_environment
                if base is not None and base not in built_in:
                    add(
                        i,
                        "base_environment",
                        base,
                        f"a built-in environment of {self.platform} (" + ", ".join(built_in) + ")",
                    )
                if base is not None and step.conda_packages:
                    add(
                        i,
                        "conda_packages",
                        list(step.conda_packages),
                        "none with base_environment (it is built without conda; use pip_packages)",
                    )
            elif isinstance(step, PackageInstall):
                if not isinstance(step.kernel, str) or (
                    step.kernel not in built_in and step.kernel not in env_names
                ):
                    allowed = f"a built-in kernel of {self.platform} (" + ", ".join(built_in) + ")"
                    allowed += " or a CondaEnvironment of this setup ("
                    allowed += (", ".join(env_names) or "none") + ")"
                    add(i, "kernel", step.kernel, allowed)
                if not step.pip_packages and not step.conda_packages:
                    add(i, "pip_packages/conda_packages", None, "at least one package")
                specs(i, "conda_packages", step.conda_packages, _CONDA_SPEC, CONDA_ALLOWED)
                specs(i, "pip_packages", step.pip_packages, _PIP_SPEC, PIP_ALLOWED)
            elif isinstance(step, JupyterLabExtension | PipInstallEverywhere):
                if isinstance(step.pip_packages, list | tuple) and not step.pip_packages:
                    add(i, "pip_packages", [], "at least one package")
                specs(i, "pip_packages", step.pip_packages, _PIP_SPEC, PIP_ALLOWED)
            elif isinstance(step, EnvironmentVariables):
                for attr, value, allowed in _variable_problems(step.values):
                    add(i, attr, value, allowed)
            elif isinstance(step, IdleAutoStop):
                idle_ok = integer(i, "idle_minutes", step.idle_minutes, 5, 10080)
                interval = step.check_interval_minutes
                interval_ok = integer(i, "check_interval_minutes", interval, 1, 60)
                if interval_ok and idle_ok and step.idle_minutes < interval:
                    add(
                        i,
                        "check_interval_minutes",
                        interval,
                        f"at most idle_minutes ({step.idle_minutes})",
                    )
                if step.terminal_idle_minutes is not None:
                    integer(i, "terminal_idle_minutes", step.terminal_idle_minutes, 5, 10080)
            elif isinstance(step, ConnectivityCheck):
                if not _matches(_HTTP_URL, step.url):
                    add(i, "url", step.url, "an http:// or https:// URL")
                integer(i, "timeout_seconds", step.timeout_seconds, 1, 30)
            elif isinstance(step, CustomStep):
                if not _matches(_ENV_NAME, step.name):
                    add(i, "name", step.name, name_rule)
                if not step.on_create and not step.on_start:
                    add(i, "on_create/on_start", None, "at least one of them")
                for attr in ("on_create", "on_start"):
                    for value, allowed in _text_problems(getattr(step, attr)):
                        add(i, attr, value, allowed)
            elif isinstance(step, HomeBackup):
                found += [(i, *p) for p in _home_backup_problems(step)]
            elif isinstance(step, PackageIndex):
                ca = step.code_artifact_domain or step.code_artifact_repository
                if (step.pip_index_url and ca) or not (step.pip_index_url or ca or step.has_conda):
                    add(
                        i,
                        "pip_index_url/code_artifact_domain",
                        step.pip_index_url or ca,
                        "either pip_index_url or code_artifact_domain with "
                        "code_artifact_repository (or only a conda channel)",
                    )
                if step.conda_channel and step.conda_channel_s3 is not None:
                    add(i, "conda_channel/conda_channel_s3", step.conda_channel, "one of them")
                channel = step.conda_channel_s3
                if channel is not None and not isinstance(channel, CondaChannelS3):
                    add(i, "conda_channel_s3", type(channel).__name__, "a CondaChannelS3")
                elif channel is not None:
                    for attr, value, rx, rule in (
                        ("bucket_name", _sample_bucket(channel), _BUCKET_NAME, BUCKET_ALLOWED),
                        ("prefix", channel.prefix, _S3_PREFIX, S3_PREFIX_ALLOWED),
                        ("local_dir", channel.local_dir, _LOCAL_DIR, LOCAL_DIR_ALLOWED),
                    ):
                        if not _matches(rx, value):
                            add(i, f"conda_channel_s3.{attr}", getattr(channel, attr), rule)
                optional_text(i, "pip_index_url", step.pip_index_url, _HTTPS_URL, "an https:// URL")
                if ca:
                    if not _matches(_CA_DOMAIN, step.code_artifact_domain):
                        add(i, "code_artifact_domain", step.code_artifact_domain, CA_DOMAIN_ALLOWED)
                    if not _matches(_CA_REPOSITORY, step.code_artifact_repository):
                        add(
                            i,
                            "code_artifact_repository",
                            step.code_artifact_repository,
                            CA_REPOSITORY_ALLOWED,
                        )
                optional_text(i, "conda_channel", step.conda_channel, _HTTPS_URL, "an https:// URL")
        return found

    def _installs(self) -> list[PackageInstall]:
        """The PackageInstall steps, with each PipInstallEverywhere as one per environment."""
        envs = [s.name for s in self.steps if isinstance(s, CondaEnvironment)]
        found: list[PackageInstall] = []
        for step in self.steps:
            if isinstance(step, PackageInstall):
                found.append(step)
            elif isinstance(step, PipInstallEverywhere):
                found += [
                    PackageInstall(
                        kernel=kernel, pip_packages=step.pip_packages, optional=step.optional
                    )
                    for kernel in (*self._built_in(), *envs)
                ]
        return found

    # -- queries used by the constructs --

    @property
    def idle_auto_stop(self) -> IdleAutoStop | None:
        return next((s for s in self.steps if isinstance(s, IdleAutoStop)), None)

    @property
    def package_index(self) -> PackageIndex | None:
        return next((s for s in self.steps if isinstance(s, PackageIndex)), None)

    # -- rendering --

    def on_create_text(self) -> str | None:
        """The on-create script, or ``None`` when no step needs one."""
        script = _Script("on-create")
        self._add_home_backup(script, "restore")
        self._add_package_index(script)
        self._add_environments(script, restart_jupyter=False)
        self._add_custom(script, "on_create")
        return self._render(script) if script.steps else None

    def on_start_text(self) -> str | None:
        """The on-start script, or ``None`` when no step needs one."""
        script = _Script("on-start")
        self._add_package_index(script)
        for step in self.steps:
            if isinstance(step, ConnectivityCheck):
                script.use("connectivity_check.sh")
                script.add(
                    step.label,
                    "foreground",
                    step.optional,
                    _fragment_call(
                        "connectivity_check.sh",
                        {
                            "SMC_CHECK_URL": step.url,
                            "SMC_CHECK_TIMEOUT": str(step.timeout_seconds),
                            # Only a required check fails the start when unreachable.
                            **({} if step.optional else {"SMC_CHECK_REQUIRED": "1"}),
                        },
                    ),
                )
        for step in self.steps:
            if isinstance(step, EnvironmentVariables):
                script.use("environment_variables.py")
                script.add(
                    step.label,
                    "foreground",
                    step.optional,
                    _fragment_call(
                        "environment_variables.py",
                        {"SMC_ENV_VARS": json.dumps(dict(step.values), sort_keys=True)},
                    ),
                )
        envs = [s for s in self.steps if isinstance(s, CondaEnvironment)]
        if envs:
            script.use("register_kernels.sh")
            script.add(
                "register-kernels", "foreground", False, _fragment_call("register_kernels.sh", {})
            )
        # One detached step installs into the built-in kernels one after the other: pip
        # and conda must not run at the same time in the same environment.
        installs = [s for s in self._installs() if s.kernel in self._built_in()]
        if installs:
            script.use("install_packages.sh")
            body = "".join(
                _guarded(
                    step,
                    _fragment_call(
                        "install_packages.sh",
                        {
                            "SMC_ENV_DIR": _Shell(f"${{ANACONDA_DIR}}/envs/{step.kernel}"),
                            "SMC_INSTALLER": installer,
                            "SMC_PACKAGES": " ".join(pkgs),
                        },
                    ),
                )
                for step in installs
                for installer, pkgs in (("conda", step.conda_packages), ("pip", step.pip_packages))
                if pkgs
            )
            if self._conda_channel_call(script) and any(s.conda_packages for s in installs):
                body = self._conda_channel_call(script) + body
            script.add("packages", "detached", all(s.optional for s in installs), body)
        index = self.package_index
        channel = index.conda_channel_s3 if index is not None else None
        fetched = "conda_channel_s3.py" in "".join(b for *_, b in script.steps)
        if channel is not None and channel.on_every_start and not fetched:
            self._add_conda_channel(script)
        extensions = [s for s in self.steps if isinstance(s, JupyterLabExtension)]
        if extensions:
            script.use("install_packages.sh")
            facts = PLATFORMS.get(self.platform, PLATFORMS[DEFAULT_PLATFORM])
            body = "".join(
                _guarded(
                    step,
                    _fragment_call(
                        "install_packages.sh",
                        {
                            "SMC_ENV_DIR": _Shell(f"${{ANACONDA_DIR}}/envs/{facts.jupyter_env}"),
                            "SMC_INSTALLER": "pip",
                            "SMC_PACKAGES": " ".join(step.pip_packages),
                        },
                    ),
                )
                for step in extensions
            )
            body += "echo 'JupyterLab extensions installed: reload the browser tab to see them'\n"
            label = extensions[0].label
            script.add(label, "detached", all(s.optional for s in extensions), body)
        self._add_custom(script, "on_start")
        self._add_home_backup(script, "install")
        stop = self.idle_auto_stop
        if stop is not None:
            script.use("idle_autostop.py", "install_autostop.sh")
            script.add(
                stop.label,
                "foreground",
                stop.optional,
                _fragment_call(
                    "install_autostop.sh",
                    {
                        "AUTOSTOP_IDLE_MINUTES": str(stop.idle_minutes),
                        "AUTOSTOP_IGNORE_CONNECTIONS": "true"
                        if stop.ignore_connections
                        else "false",
                        "AUTOSTOP_INTERVAL_MINUTES": str(stop.check_interval_minutes),
                        **(
                            {}
                            if stop.terminal_idle_minutes is None
                            else {"AUTOSTOP_TERMINAL_IDLE_MINUTES": str(stop.terminal_idle_minutes)}
                        ),
                        "AUTOSTOP_CHECKER": _Shell("${SMC_WORK_DIR}/fragments/idle_autostop.py"),
                        "AUTOSTOP_PYTHON": _Shell("${SMC_SYSTEM_PYTHON}"),
                    },
                ),
            )
        return self._render(script) if script.steps else None

    def _add_custom(self, script: _Script, phase: str) -> None:
        for step in self.steps:
            if isinstance(step, CustomStep) and getattr(step, phase):
                mode = "detached" if step.detached else "foreground"
                script.add(step.name, mode, step.optional, getattr(step, phase))

    def _conda_channel_call(self, script: _Script) -> str:
        """The call copying the S3 conda channel (empty without one); marks the fragment used."""
        index = self.package_index
        channel = index.conda_channel_s3 if index is not None else None
        if channel is None:
            return ""
        script.use("conda_channel_s3.py")
        return _fragment_call(
            "conda_channel_s3.py",
            {
                "SMC_CONDA_CHANNEL_BUCKET": channel.bucket_name,
                "SMC_CONDA_CHANNEL_PREFIX": channel.prefix,
                "SMC_CONDA_CHANNEL_DIR": channel.local_dir,
            },
        )

    def _add_conda_channel(self, script: _Script) -> None:
        """The S3 channel as a step of its own (detached: it may be large), for terminals."""
        call = self._conda_channel_call(script)
        if call:
            index = self.package_index
            script.add("conda-channel", "detached", bool(index and index.optional), call)

    def _add_package_index(self, script: _Script) -> None:
        index = self.package_index
        if index is None or not index.has_pip:
            return
        values = {
            "SMC_PIP_INDEX_URL": index.pip_index_url or "",
            "SMC_CODEARTIFACT_DOMAIN": index.code_artifact_domain or "",
            "SMC_CODEARTIFACT_REPOSITORY": index.code_artifact_repository or "",
            "SMC_CONDA_CHANNEL": index.conda_channel or "",
        }
        script.use("package_index.sh")
        script.add(
            index.label,
            "foreground",
            index.optional,
            _fragment_call("package_index.sh", {k: v for k, v in values.items() if v}),
        )

    def _add_environments(self, script: _Script, *, restart_jupyter: bool) -> None:
        """One detached step creating every environment in turn (conda runs one at a time)."""
        envs = [s for s in self.steps if isinstance(s, CondaEnvironment)]
        if not envs:
            self._add_conda_channel(script)
            return
        script.use("register_kernels.sh")
        body = ""
        if any(e.base_environment is None for e in envs):
            body += self._conda_channel_call(script)
        for env in envs:
            if env.base_environment is not None:
                script.use("create_conda_env_from_builtin.sh")
                call = _fragment_call(
                    "create_conda_env_from_builtin.sh",
                    {
                        "SMC_ENV_NAME": env.name,
                        "SMC_BASE_ENV": env.base_environment,
                        "SMC_PIP_PACKAGES": " ".join(env.pip_packages),
                    },
                )
            else:
                script.use("create_conda_env.sh")
                call = _fragment_call(
                    "create_conda_env.sh",
                    {
                        "SMC_ENV_NAME": env.name,
                        "SMC_PYTHON_VERSION": env.python_version,
                        "SMC_CONDA_PACKAGES": " ".join(env.conda_packages),
                        "SMC_PIP_PACKAGES": " ".join(env.pip_packages),
                    },
                )
            for install in self._installs():
                if install.kernel == env.name:
                    for installer, pkgs in (
                        ("conda", install.conda_packages),
                        ("pip", install.pip_packages),
                    ):
                        if pkgs:
                            call += _guarded(
                                install,
                                _fragment_call(
                                    "install_packages.sh",
                                    {
                                        "SMC_ENV_DIR": _Shell(f"${{SMC_ENVS_DIR}}/{env.name}"),
                                        "SMC_INSTALLER": installer,
                                        "SMC_PACKAGES": " ".join(pkgs),
                                    },
                                ),
                            )
                            script.use("install_packages.sh")
            body += _guarded(env, call)
        body += _fragment_call(
            "register_kernels.sh", {"SMC_RESTART_JUPYTER": "true" if restart_jupyter else "false"}
        )
        script.add("conda-environments", "detached", all(e.optional for e in envs), body)
        if "conda_channel_s3.py" not in body:
            self._add_conda_channel(script)

    @property
    def home_backup(self) -> HomeBackup | None:
        return next((s for s in self.steps if isinstance(s, HomeBackup)), None)

    def _add_home_backup(self, script: _Script, mode: str) -> None:
        step = self.home_backup
        if step is None:
            return
        script.use("home_backup.py")
        values = {
            "SMC_BACKUP_MODE": mode,
            "SMC_BACKUP_BUCKET": step.bucket_name,
            "SMC_BACKUP_PREFIX": step.prefix,
            "SMC_BACKUP_OWNERS": json.dumps(dict(step.owners), sort_keys=True)
            if step.owners
            else "",
            "SMC_BACKUP_KMS_KEY": step.kms_key_arn or "",
            "SMC_BACKUP_INTERVAL": str(step.interval_minutes),
            "SMC_BACKUP_EXCLUDE": " ".join(step.exclude),
        }
        # Restoring may take long (detached; auto-stop waits for it); installing the timer not.
        name, run = (
            ("home-restore", "detached") if mode == "restore" else ("home-backup", "foreground")
        )
        script.add(name, run, step.optional, _fragment_call("home_backup.py", values))

    def _render(self, script: _Script) -> str:
        return render_script(
            script,
            title=f"{script.phase} script",
            host_fragment="host.sh",
            work_root="/var/tmp/sagemaker-constructs",
        )


def render_script(script: _Script, *, title: str, host_fragment: str, work_root: str) -> str:
    """The composed bash: the step list, the fragment bundle, then each step and its run.

    Args:
        script: The steps and the fragments they use.
        title: What the script is, for its header comment.
        host_fragment: The fragment with the host's layout (notebook or Studio).
        work_root: Where fragments and step files are written on the host.
    """
    lines = [
        "#!/bin/bash",
        f"# {title} composed by sagemaker-constructs from these steps:",
        *(
            f"#   {name} ({mode}{', optional' if optional else ''})"
            for name, mode, optional, _ in script.steps
        ),
        "set -euo pipefail",
        f"export SMC_PHASE={script.phase}",
        f': "${{SMC_WORK_DIR:={work_root}/${{SMC_PHASE}}}}"',
        'mkdir -p "${SMC_WORK_DIR}/fragments" "${SMC_WORK_DIR}/steps"',
        "# The fragments from lifecycle_scripts/ the steps use, as base64 of a tar.gz:",
        f"base64 -d << '{_BUNDLE_END}' | tar -xzf - -C \"${{SMC_WORK_DIR}}/fragments\"",
        *_bundle([host_fragment, "runner.sh", *script.fragments]),
        _BUNDLE_END,
        "# shellcheck source=/dev/null # fragments are checked on their own",
        f'. "${{SMC_WORK_DIR}}/fragments/{host_fragment}"',
        "# shellcheck source=/dev/null",
        '. "${SMC_WORK_DIR}/fragments/runner.sh"',
    ]
    for n, (name, mode, optional, body) in enumerate(script.steps, 1):
        step_file = f"${{SMC_WORK_DIR}}/steps/{n:02d}-{_slug(name)}.sh"
        lines += [
            f"cat > \"{step_file}\" << '{_STEP_END}'",
            "set -euo pipefail",
            body.rstrip("\n"),
            _STEP_END,
            f"smc_run_step {shlex.quote(_slug(name))} {mode} "
            f'{"true" if optional else "false"} "{step_file}"',
        ]
    lines.append('smc_log "all steps started; the foreground part is done"')
    return "\n".join(lines) + "\n"


_BUNDLE_END = "SMC_BUNDLE_END"
_STEP_END = "SMC_STEP_END"


def _bundle(names: Sequence[str]) -> list[str]:
    """The fragments as a reproducible tar.gz (fixed times and owners), base64 on one line.

    One line, not 76-character ones: the script is base64-encoded again for SageMaker, and
    each line break would cost more than a character of its 16,384-character limit.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in names:
            text = lifecycle_scripts.read(name)
            text = _compact_python(text) if name.endswith(".py") else _compact(text)
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    encoded = base64.b64encode(packed).decode()
    return [encoded]


def unbundle(script: str) -> dict[str, str]:
    """The fragments embedded in a composed script, by name (for review tooling and tests)."""
    match = re.search(rf"<< '{_BUNDLE_END}'.*?\n(.*?)\n{_BUNDLE_END}\n", script, re.S)
    if not match:
        return {}
    packed = base64.b64decode("".join(match.group(1).split()))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(packed))) as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]


def package_kinds(step: object) -> list[tuple[str, str]]:
    """What ``step`` installs, as (kind, packages) for each kind (``pip``, ``conda``)."""
    kinds: list[tuple[str, str]] = []
    if isinstance(step, CondaEnvironment):
        if step.base_environment is None:
            specs = [f"python={step.python_version}", "ipykernel", *step.conda_packages]
            kinds.append(("conda", " ".join(specs)))
        if step.pip_packages:
            kinds.append(("pip", " ".join(step.pip_packages)))
    elif isinstance(step, PackageInstall):
        if step.conda_packages:
            kinds.append(("conda", " ".join(step.conda_packages)))
        if step.pip_packages:
            kinds.append(("pip", " ".join(step.pip_packages)))
    elif isinstance(step, JupyterLabExtension | PipInstallEverywhere):
        kinds.append(("pip", " ".join(step.pip_packages)))
    return kinds


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: Variables the host or the shells own; setting them breaks kernels or terminals.
RESERVED_VARIABLES: Final = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "LD_PRELOAD", "LD_LIBRARY_PATH"}
)
_SECRET_LIKE = re.compile(r"SECRET|PASSW|TOKEN|PRIVATE|CREDENTIAL|ACCESS_KEY", re.I)


def _variable_problems(values: object) -> list[tuple[str, object, str]]:
    if not isinstance(values, Mapping) or not values:
        return [("values", values, "a non-empty mapping of names to strings")]
    found: list[tuple[str, object, str]] = []
    for name, value in values.items():
        if not _matches(_VARIABLE, name) or name in RESERVED_VARIABLES:
            found.append(
                (
                    "values",
                    name,
                    "names of letters, digits and '_' (not starting with a digit), not "
                    + ", ".join(sorted(RESERVED_VARIABLES)),
                )
            )
        elif _SECRET_LIKE.search(name):
            found.append(
                (
                    f"values[{name}]",
                    "a name that looks like a secret",
                    "no secrets: values are in clear in the template and the lifecycle "
                    "configuration; read them from Secrets Manager on the notebook",
                )
            )
        if not isinstance(value, str) or len(value) > 4096 or "\n" in value or "\0" in value:
            found.append((f"values[{name}]", value, "a one-line string of at most 4096 characters"))
    return found


def _conda_fix(step: object) -> str:
    fix = (
        "a PackageIndex with conda_channel_s3 (a CondaChannel the platform hosts) or "
        "conda_channel (a channel URL the VPC reaches)"
    )
    if isinstance(step, CondaEnvironment):
        fix += ", or base_environment='python3' and pip packages only (no conda channel needed)"
    return fix


def _pip_fix(step: object) -> str:
    return (
        "a PackageIndex with code_artifact_domain/code_artifact_repository (a PackageMirror) "
        "or pip_index_url, or a notebook with direct internet access"
    )


#: How to give each kind of package a source, for the synth-time error.
SOURCE_FIX: Final[dict[str, Callable[[object], str]]] = {
    "pip": _pip_fix,
    "conda": lambda step: _conda_fix(step) + ", or a notebook with direct internet access",
}


def bucket_name_ok(name: object) -> bool:
    """Whether ``name`` is an S3 bucket name, with ``{account}``/``{region}`` placeholders."""
    if not isinstance(name, str):
        return False
    sample = name.replace("{account}", "123456789012").replace("{region}", "eu-central-1")
    return _BUCKET_NAME.fullmatch(sample) is not None


def s3_prefix_ok(prefix: object) -> bool:
    """Whether ``prefix`` is a channel's key prefix (no leading or trailing ``/``)."""
    return _matches(_S3_PREFIX, prefix)


def _sample_bucket(channel: CondaChannelS3) -> object:
    """The bucket name with sample values for the placeholders, to check the name rule."""
    name = channel.bucket_name
    if not isinstance(name, str):
        return name
    return channel.bucket_for("123456789012", "eu-central-1")


def _matches(rx: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and rx.fullmatch(value) is not None


def _integer(value: object, low: int, high: int) -> bool:
    # bool is an int subclass: True must not pass as 1.
    return type(value) is int and low <= value <= high


def _text_problems(text: object) -> list[tuple[object, str]]:
    """Problems of a script fragment given as text (``None`` is no script)."""
    if text is None:
        return []
    if not isinstance(text, str):
        return [(type(text).__name__, "a string of bash")]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return [(f"a character that is not valid UTF-8 at offset {exc.start}", "UTF-8 text")]
    found: list[tuple[object, str]] = []
    crlf = [n for n, line in enumerate(text.split("\n"), 1) if line.endswith("\r")]
    if crlf:
        found.append((f"CRLF line endings on line(s) {crlf[:5]}", "LF line endings only"))
    if any(line.strip() == _STEP_END for line in text.splitlines()):
        found.append((f"a line {_STEP_END}", "any other text"))
    return found


def _label(step: object) -> str:
    return getattr(step, "label", type(step).__name__)


def _guarded(step: Step, call: str) -> str:
    """Run ``call``; for an optional step, log a failure instead of propagating it."""
    if not step.optional:
        return call
    message = shlex.quote(f"{step.label}: FAILED (optional, ignored)")
    return f"if ! {call.rstrip()}\nthen\necho {message}\nfi\n"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _compact(text: str) -> str:
    """Drop comment-only and blank lines of a bash fragment (not the shellcheck directives).

    Keeps composed scripts under the 16 KB limit; the commented fragments are in
    ``lifecycle_scripts/`` for reading.
    """
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith("# shellcheck")):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _compact_python(text: str) -> str:
    """The same program without comments and docstrings (``ast.unparse``), to save space.

    The module docstring keeps its first line: programs use ``__doc__`` as help text.
    Function annotations go too (never evaluated: the fragments import ``annotations``);
    class-body ones stay, a ``NamedTuple`` needs them.
    """
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
            arguments = node.args
            optional = [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, *optional]:
                arg.annotation = None
        body = getattr(node, "body", None)
        if not (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            continue
        if isinstance(node, ast.Module):
            body[0].value.value = body[0].value.value.strip().splitlines()[0]
            continue
        body.pop(0)
        if not body:
            body.append(ast.Pass())
    return ast.unparse(tree) + "\n"
