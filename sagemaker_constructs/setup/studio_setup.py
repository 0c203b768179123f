"""Typed steps composed into the start script of a SageMaker Studio app.

A :class:`StudioSetup` takes the notebook steps that apply to Studio (a private package
index, connectivity checks, package installs and a team's own commands; see
:mod:`sagemaker_constructs.setup.notebook_setup`) and composes one bash script from the same
tested fragments and step runner, with the Studio host layout (``lifecycle_scripts/
studio_host.sh``): the app runs as ``sagemaker-user`` with its home, the space's volume,
at ``/home/sagemaker-user``. A Studio lifecycle configuration runs at every app start and
has no on-create phase. Anything slow runs detached, so a start never hits the 5-minute
limit. Packages never go into the image's environment, which the server runs in: they
go to a persistent environment on the volume, registered as a kernel (see
``lifecycle_scripts/studio_install_packages.sh`` and docs/studio.md).

Steps that do not apply are rejected with what to use instead: a conda environment
belongs in a custom image (:class:`~sagemaker_constructs.StudioCustomImage`), and idle
shutdown is built into Studio (``StudioDomain(idle_timeout_minutes=...)``).

Example::

    setup = StudioSetup(steps=[
        PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi"),
        ConnectivityCheck(url="https://pypi.org/simple/"),
        PackageInstall(kernel="python3", pip_packages=["polars==1.9.0"], optional=True),
    ])
    StudioLifecycleConfig(stack, "JupyterLab", app_type="JupyterLab", setup=setup)
"""

from __future__ import annotations

from typing import Final

from sagemaker_constructs.setup.notebook_setup import (
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    EnvironmentVariables,
    IdleAutoStop,
    JupyterLabExtension,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
    PipInstallEverywhere,
    _fragment_call,
    _Script,
    _Shell,
    _StepList,
    render_script,
)

#: Kernels of a Studio app a PackageInstall may target, and the persistent environment
#: (on the space's volume) that gets the packages: ``python3`` is the image's default
#: environment (``/opt/conda`` in SageMaker Distribution images), which the server runs in
#: and which is never written; its packages go to a virtual environment layered on it,
#: registered as the kernel ``python3-packages`` (docs/studio.md, "The Studio host").
STUDIO_KERNELS: Final = {
    "python3": ("${SAGEMAKER_DIR}/.sagemaker-constructs/envs/python3", "python3-packages")
}
#: What the launcher shows for the kernel of a PackageInstall into ``python3``.
STUDIO_KERNEL_DISPLAY_NAME: Final = "Python 3 (setup packages)"
#: App types a Studio lifecycle configuration can run in (the current Studio experience).
STUDIO_APP_TYPES: Final = ("JupyterLab", "CodeEditor")
_STEP_TYPES = "a PackageIndex, ConnectivityCheck, PackageInstall or CustomStep"


class StudioSetup(_StepList):
    """Steps for a Studio app, composed into its start script.

    Attributes:
        steps: The steps, in the order given.
    """

    # The Studio script does not fetch an S3 conda channel (yet): it is no conda source here.
    renders_conda_channel_s3 = False

    def step_problems(self) -> list[tuple[int, str, object, str]]:
        """Every invalid step field as (step index, field, value, allowed).

        The notebook rules apply to every field (pinned specs, URLs, ...); on top of them,
        only the steps that make sense in a Studio app are accepted.
        """
        found: list[tuple[int, str, object, str]] = []
        studio_only: list[tuple[int, str, object, str]] = []
        for i, step in enumerate(self.steps):
            if isinstance(step, CondaEnvironment):
                studio_only.append(
                    (
                        i,
                        "type",
                        "CondaEnvironment",
                        f"{_STEP_TYPES}; build conda environments into a custom image "
                        "(StudioCustomImage)",
                    )
                )
            elif isinstance(step, IdleAutoStop):
                studio_only.append(
                    (
                        i,
                        "type",
                        "IdleAutoStop",
                        f"{_STEP_TYPES}; Studio shuts idle apps down itself "
                        "(StudioDomain idle_timeout_minutes)",
                    )
                )
            elif isinstance(
                step, EnvironmentVariables | JupyterLabExtension | PipInstallEverywhere
            ):
                # Notebook-instance steps the Studio script does not run (yet).
                studio_only.append((i, "type", type(step).__name__, _STEP_TYPES))
            elif isinstance(step, PackageIndex) and step.conda_channel_s3 is not None:
                studio_only.append(
                    (i, "conda_channel_s3", "given", "none (notebook instances only)")
                )
            elif isinstance(step, PackageInstall) and step.kernel not in STUDIO_KERNELS:
                studio_only.append(
                    (
                        i,
                        "kernel",
                        step.kernel,
                        "'python3' (the image's default environment; other environments "
                        "belong in a custom image)",
                    )
                )
            elif isinstance(step, PackageInstall) and step.conda_packages:
                studio_only.append(
                    (
                        i,
                        "conda_packages",
                        list(step.conda_packages),
                        "none in Studio: pip_packages go to a persistent environment on the "
                        "space's volume; conda packages belong in a custom image "
                        "(StudioCustomImage)",
                    )
                )
            elif isinstance(step, CustomStep) and step.on_create:
                studio_only.append(
                    (
                        i,
                        "on_create",
                        "given",
                        "none (a Studio lifecycle configuration runs at every app start; "
                        "use on_start)",
                    )
                )
        # A Studio-specific problem replaces the notebook one for the same field (a kernel
        # is not reported twice), and a step type Studio does not run replaces them all.
        replaced = {(i, attr) for i, attr, *_ in studio_only}
        for problem in NotebookSetup(self.steps).step_problems():
            i, attr = problem[0], problem[1]
            if (i, attr) not in replaced and (i, "type") not in replaced:
                found.append(problem)
        found += studio_only
        return sorted(found, key=lambda p: p[0])

    # -- queries used by the constructs --

    @property
    def package_index(self) -> PackageIndex | None:
        return next((s for s in self.steps if isinstance(s, PackageIndex)), None)

    # -- rendering --

    def script_text(self, app_type: str) -> str | None:
        """The start script of ``app_type`` apps, or ``None`` when no step needs one."""
        script = _Script(f"studio-{app_type.lower()}")
        index = self.package_index
        if index is not None:
            values = {
                "SMC_PIP_INDEX_URL": index.pip_index_url or "",
                "SMC_CODEARTIFACT_DOMAIN": index.code_artifact_domain or "",
                "SMC_CODEARTIFACT_REPOSITORY": index.code_artifact_repository or "",
                "SMC_CONDA_CHANNEL": index.conda_channel or "",
            }
            script.use("studio_package_index.sh")
            script.add(
                index.label,
                "foreground",
                index.optional,
                _fragment_call("studio_package_index.sh", {k: v for k, v in values.items() if v}),
            )
        for step in self.steps:
            if isinstance(step, ConnectivityCheck):
                script.use("connectivity_check.sh")
                script.add(
                    step.label,
                    "foreground",
                    True,
                    _fragment_call(
                        "connectivity_check.sh",
                        {"SMC_CHECK_URL": step.url, "SMC_CHECK_TIMEOUT": str(step.timeout_seconds)},
                    ),
                )
            elif isinstance(step, PackageInstall):
                script.use("studio_install_packages.sh")
                env_dir, kernel_name = STUDIO_KERNELS[step.kernel]
                body = _fragment_call(
                    "studio_install_packages.sh",
                    {
                        "SMC_ENV_DIR": _Shell(env_dir),
                        "SMC_BASE_PYTHON": _Shell("${ANACONDA_DIR}/bin/python"),
                        "SMC_KERNEL_NAME": kernel_name,
                        "SMC_KERNEL_DISPLAY_NAME": STUDIO_KERNEL_DISPLAY_NAME,
                        "SMC_PACKAGES": " ".join(step.pip_packages),
                    },
                )
                script.add(step.label, "detached", step.optional, body)
            elif isinstance(step, CustomStep) and step.on_start:
                mode = "detached" if step.detached else "foreground"
                script.add(step.name, mode, step.optional, step.on_start)
        if not script.steps:
            return None
        return _render(script, app_type)


def _render(script: _Script, app_type: str) -> str:
    return render_script(
        script,
        title=f"Studio {app_type} start script",
        host_fragment="studio_host.sh",
        work_root="/tmp/sagemaker-constructs",
    )
