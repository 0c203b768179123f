"""Set environment variables for every kernel and terminal of the notebook user.

Run as root with the notebook's system Python, on every start (the home directory is reset
on stop). Writes two files in NOTEBOOK_USER's home, no Jupyter restart needed:

  ~/.ipython/profile_default/startup/00-sagemaker-constructs-env.py
      every IPython kernel (any environment) runs it when it starts
  ~/.bashrc (a marked block, replaced on each run)
      every terminal's bash reads it

Parameters (environment): SMC_ENV_VARS, a JSON object of names to string values (validated
at synth time); NOTEBOOK_USER (default ec2-user), NOTEBOOK_HOME (default /home/ec2-user).

The user's commands run as host.sh's smc_as_user does: ``sudo -u USER -i HOME=NOTEBOOK_HOME``,
and no argument holds a "$" (sudo -i leaves it for the login shell to expand).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

BEGIN = "# >>> sagemaker-constructs environment variables >>>"
END = "# <<< sagemaker-constructs environment variables <<<"
STARTUP = ".ipython/profile_default/startup/00-sagemaker-constructs-env.py"


def bash_block(values: dict[str, str]) -> str:
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(values.items())]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def with_block(bashrc: str, block: str) -> str:
    """``bashrc`` with our block replaced (or appended); the rest as it was."""
    if BEGIN in bashrc and END in bashrc:
        head, rest = bashrc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + block + tail
    return bashrc + ("" if bashrc.endswith("\n") or not bashrc else "\n") + block


def as_user(user: str, home: str, command: list[str], text: str | None = None) -> str:
    result = subprocess.run(
        ["sudo", "-u", user, "-i", f"HOME={home}", *command],
        input=text,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"as {user}: {' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def write_as_user(user: str, home: str, path: str, text: str) -> None:
    """``path`` written by the user (their own file), replaced whole, mode 644."""
    new = path + ".smc-new"
    as_user(user, home, ["mkdir", "-p", os.path.dirname(path)])
    as_user(user, home, ["tee", new], text)
    as_user(user, home, ["chmod", "644", new])
    as_user(user, home, ["mv", "-f", new, path])


def main() -> int:
    user = os.environ.get("NOTEBOOK_USER", "ec2-user")
    home = os.environ.get("NOTEBOOK_HOME", "/home/ec2-user")
    values = json.loads(os.environ["SMC_ENV_VARS"])
    startup = "import os\n\nos.environ.update(" + json.dumps(values, sort_keys=True) + ")\n"
    write_as_user(user, home, os.path.join(home, STARTUP), startup)
    bashrc_path = os.path.join(home, ".bashrc")
    bashrc = ""
    if os.path.isfile(bashrc_path):
        with open(bashrc_path) as fh:
            bashrc = fh.read()
    write_as_user(user, home, bashrc_path, with_block(bashrc, bash_block(values)))
    print(f"environment variables for kernels and terminals of {user}: {', '.join(sorted(values))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
