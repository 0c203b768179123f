"""Facts about the notebook-instance platforms, in one place.

Sources are listed in ``docs/platforms.md``.
"""

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class PlatformFacts:
    """What a lifecycle script can rely on, per notebook-instance platform.

    Attributes:
        identifier: The ``PlatformIdentifier`` value.
        built_in_envs: Conda environments the platform ships (Jupyter shows ``conda_<name>``).
        conda_root: Root of the platform's conda installation.
        jupyter_env: The conda environment the Jupyter server runs in.
    """

    identifier: str
    built_in_envs: tuple[str, ...]
    conda_root: str
    jupyter_env: str


AL2023: Final = PlatformFacts(
    identifier="notebook-al2023-v1",
    built_in_envs=("python3", "pytorch"),
    conda_root="/home/ec2-user/anaconda3",
    jupyter_env="JupyterSystemEnv",
)
AL2_V3: Final = PlatformFacts(
    identifier="notebook-al2-v3",
    built_in_envs=("python3", "pytorch_p310", "tensorflow2_p310"),
    conda_root="/home/ec2-user/anaconda3",
    jupyter_env="JupyterSystemEnv",
)

#: Supported platforms by identifier; the first is the default.
PLATFORMS: Final = {p.identifier: p for p in (AL2023, AL2_V3)}
DEFAULT_PLATFORM: Final = AL2023.identifier
