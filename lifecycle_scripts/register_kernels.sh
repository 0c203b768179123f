#!/bin/bash
# Register every conda environment kept on the notebook volume (SMC_ENVS_DIR) as a Jupyter
# kernel of NOTEBOOK_USER. Only the volume survives a stop, so the kernel specs (in the
# user's home, outside it) are re-created on each start. Jupyter is restarted only when a
# kernel was added and SMC_RESTART_JUPYTER is true. Takes seconds: run it in the foreground.
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${SMC_ENVS_DIR:=/home/ec2-user/SageMaker/envs}"
: "${SMC_RESTART_JUPYTER:=true}"

kernel_dir="$(sudo -u "${NOTEBOOK_USER}" -i printenv HOME)/.local/share/jupyter/kernels"
added=0
if [ -d "${SMC_ENVS_DIR}" ]; then
  for env in "${SMC_ENVS_DIR}"/*/; do
    [ -d "${env}" ] || continue
    name="$(basename "${env}")"
    marker="${SMC_ENVS_DIR}/.${name}.creating"
    if [ -e "${marker}" ]; then
      state="$(cat "${marker}")"
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
    if [ ! -x "${env}bin/python" ]; then
      echo "environment ${name} has no bin/python; skipped"
      continue
    fi
    if [ -f "${kernel_dir}/${name}/kernel.json" ]; then
      echo "kernel ${name} already registered"
      continue
    fi
    if sudo -u "${NOTEBOOK_USER}" -i "${env}bin/python" -m ipykernel install --user \
      --name "${name}" --display-name "conda_${name}" > /dev/null; then
      echo "registered kernel ${name}"
      added=$((added + 1))
    else
      echo "could not register ${name} (is ipykernel installed in it?); skipped"
    fi
  done
else
  echo "no environments under ${SMC_ENVS_DIR}"
fi

if [ "${added}" -gt 0 ] && [ "${SMC_RESTART_JUPYTER}" = true ]; then
  echo "restarting Jupyter to show ${added} new kernel(s)"
  systemctl restart jupyter-server
fi
