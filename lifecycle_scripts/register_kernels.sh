#!/bin/bash
# Register every conda environment kept on the notebook volume (SMC_ENVS_DIR) as a Jupyter
# kernel of NOTEBOOK_USER. Only the volume survives a stop, so the kernel specs (in the
# user's home, outside it) are written again on each start. A kernel runs with its
# environment activated (conda's activate, then ipykernel), so `!pip install` and
# `!python -m pip` in a notebook install into the kernel's own environment.
# Jupyter is restarted (without waiting for it) only when SMC_RESTART_JUPYTER is true and the
# kernels differ from those of the previous start, recorded on the volume: a start after a
# stop with the same environments restarts nothing. Takes seconds: run it in the foreground.
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${NOTEBOOK_HOME:=/home/ec2-user}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENVS_DIR:=/home/ec2-user/SageMaker/envs}"
: "${SMC_SYSTEM_PYTHON:=/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}"
: "${SMC_RESTART_JUPYTER:=true}"

kernel_dir="${NOTEBOOK_HOME}/.local/share/jupyter/kernels"
record="${SMC_ENVS_DIR}/.registered-kernels"
registered=""
if [ -d "${SMC_ENVS_DIR}" ]; then
  for env in "${SMC_ENVS_DIR}"/*/; do
    [ -d "${env}" ] || continue
    env="${env%/}"
    name="$(basename "${env}")"
    marker="${SMC_ENVS_DIR}/.${name}.creating"
    # The marker may go between the test and the read (the creation just ended, and the
    # environment is then complete): a marker that cannot be read counts as gone.
    if [ -e "${marker}" ] && state="$(cat "${marker}" 2> /dev/null)"; then
      if [ "${state}" = failed ]; then
        echo "environment ${name}: its creation FAILED (see the on-create log); delete" \
          "${SMC_ENVS_DIR}/${name} and ${marker} and create it again"
      elif grep -qs create_conda_env "/proc/${state}/cmdline"; then
        echo "environment ${name} is still being created; it registers itself when done"
      else
        echo "environment ${name}: its creation was interrupted (the notebook stopped);" \
          "delete ${SMC_ENVS_DIR}/${name} and ${marker} and create it again"
      fi
      continue
    fi
    if [ ! -x "${env}/bin/python" ]; then
      echo "environment ${name} has no bin/python; skipped"
      continue
    fi
    if ! smc_as_user "${env}/bin/python" -c "import ipykernel" > /dev/null 2>&1; then
      echo "could not register ${name} (ipykernel does not import in it); skipped"
      continue
    fi
    spec="$("${SMC_SYSTEM_PYTHON}" - "${name}" "${env}" "${ANACONDA_DIR}" << 'PY'
import json
import sys

name, env, anaconda = sys.argv[1:4]
activate_and_run = 'source "$0" "$1" && exec python -m ipykernel_launcher -f "$2"'
print(json.dumps({
    "argv": ["/bin/bash", "-c", activate_and_run, anaconda + "/bin/activate", env,
             "{connection_file}"],
    "display_name": "conda_" + name,
    "language": "python",
    "metadata": {"debugger": True},
    "env": {"CONDA_PREFIX": env, "CONDA_DEFAULT_ENV": name},
}, indent=1))
PY
    )"
    file="${kernel_dir}/${name}/kernel.json"
    if [ -f "${file}" ] && [ "$(cat "${file}")" = "${spec}" ]; then
      echo "kernel ${name} already registered"
    else
      printf '%s\n' "${spec}" | smc_write_as_user "${file}" 644
      echo "registered kernel ${name}"
    fi
    registered+="${name} $(printf '%s' "${spec}" | sha256sum | cut -d' ' -f1)"$'\n'
  done
else
  echo "no environments under ${SMC_ENVS_DIR}"
fi

previous=""
[ -f "${record}" ] && previous="$(cat "${record}")"
if [ "${registered%$'\n'}" = "${previous}" ]; then
  echo "kernels unchanged since the previous start; Jupyter is not restarted"
  exit 0
fi
if [ -d "${SMC_ENVS_DIR}" ]; then
  printf '%s' "${registered}" | smc_write_as_user "${record}" 644
fi
if [ "${SMC_RESTART_JUPYTER}" = true ]; then
  # --no-block: queue the restart and go on; the start must not wait for Jupyter.
  echo "kernels changed since the previous start; restarting Jupyter in the background"
  systemctl --no-block restart jupyter-server
fi
