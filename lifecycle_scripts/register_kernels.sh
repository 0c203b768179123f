#!/bin/bash
# On-start: register every conda environment kept on the notebook volume as a Jupyter
# kernel. Only /home/ec2-user/SageMaker survives a stop, so the kernel specs (which live
# outside it) are re-created on each start. Jupyter restarts only when a kernel was added.
set -euo pipefail

SAGEMAKER_HOME="${SAGEMAKER_HOME:-/home/ec2-user/SageMaker}"
ENVS_DIR="${ENVS_DIR:-${SAGEMAKER_HOME}/envs}"
NOTEBOOK_USER="${NOTEBOOK_USER:-ec2-user}"
KERNEL_DIR="${KERNEL_DIR:-/home/${NOTEBOOK_USER}/.local/share/jupyter/kernels}"

log() { echo "[register-kernels] $*"; }

added=0
if [ -d "${ENVS_DIR}" ]; then
  for env in "${ENVS_DIR}"/*/; do
    [ -x "${env}bin/python" ] || continue
    name="$(basename "${env}")"
    if [ -f "${KERNEL_DIR}/conda-env-${name}/kernel.json" ]; then
      log "kernel conda-env-${name} already registered"
      continue
    fi
    if sudo -u "${NOTEBOOK_USER}" -i "${env}bin/python" -m ipykernel install --user \
      --name "conda-env-${name}" --display-name "conda_${name}"; then
      log "registered kernel conda-env-${name}"
      added=$((added + 1))
    else
      log "could not register ${name} (is ipykernel installed in it?); skipped"
    fi
  done
else
  log "no environments under ${ENVS_DIR}"
fi

if [ "${added}" -gt 0 ]; then
  log "restarting Jupyter to pick up ${added} new kernel(s)"
  systemctl restart jupyter-server || log "could not restart jupyter-server"
fi
