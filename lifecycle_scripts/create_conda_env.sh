#!/bin/bash
# Create a persistent conda environment on the notebook volume, as NOTEBOOK_USER, from
# pinned packages. Slow (minutes): run it detached. Idempotent, so it also runs on every
# start: a complete environment is left alone, one being created by a live process is
# left to it, and a half-made one (a stop interrupted it; its marker
# SMC_ENVS_DIR/.NAME.creating holds a dead PID) is made again.
# Parameters:
#   SMC_ENV_NAME          environment (and kernel) name
#   SMC_PYTHON_VERSION    e.g. 3.11
#   SMC_CONDA_PACKAGES    space-separated pinned conda specs (name=version), may be empty
#   SMC_PIP_PACKAGES      space-separated pinned pip specs (name==version), may be empty
# -E: the ERR trap below fires in functions too (smc_as_user).
set -Eeuo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${NOTEBOOK_HOME:=/home/ec2-user}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENVS_DIR:=/home/ec2-user/SageMaker/envs}"
: "${SMC_ENV_NAME:?SMC_ENV_NAME is required}"
: "${SMC_PYTHON_VERSION:?SMC_PYTHON_VERSION is required}"
: "${SMC_CONDA_PACKAGES:=}"
: "${SMC_PIP_PACKAGES:=}"

env_dir="${SMC_ENVS_DIR}/${SMC_ENV_NAME}"
marker="${SMC_ENVS_DIR}/.${SMC_ENV_NAME}.creating"
if [ -x "${env_dir}/bin/python" ] && [ ! -e "${marker}" ]; then
  echo "environment ${SMC_ENV_NAME} already exists at ${env_dir}"
  exit 0
fi
if [ -e "${marker}" ]; then
  pid="$(cat "${marker}")"
  if [ -n "${pid}" ] && grep -qs create_conda_env "/proc/${pid}/cmdline"; then
    echo "environment ${SMC_ENV_NAME} is being created by process ${pid}"
    exit 0
  fi
fi

smc_as_user mkdir -p "${SMC_ENVS_DIR}"
if [ -e "${env_dir}" ]; then
  echo "removing the half-made environment ${env_dir}"
  rm -rf "${env_dir}"
fi
# Outside the prefix (conda wants a new directory); register_kernels.sh skips
# environments whose marker is there.
echo "$$" > "${marker}"
# A failure leaves the marker saying so, for register_kernels.sh to report.
trap 'echo failed > "${marker}"' ERR

echo "creating environment ${SMC_ENV_NAME} (python ${SMC_PYTHON_VERSION})"
# conda reads the user's ~/.condarc (package_index.sh) for its channels.
# shellcheck disable=SC2086 # package lists are word-split on purpose (validated specs)
smc_as_user "${ANACONDA_DIR}/bin/conda" create --yes --quiet \
  --prefix "${env_dir}" "python=${SMC_PYTHON_VERSION}" ipykernel ${SMC_CONDA_PACKAGES} < /dev/null

if [ -n "${SMC_PIP_PACKAGES}" ]; then
  echo "installing pip packages: ${SMC_PIP_PACKAGES}"
  # The script goes on stdin: sudo -i would expand a "$" in an argument (host.sh).
  # shellcheck disable=SC2086 # specs are word-split on purpose (validated specs)
  smc_as_user bash -s -- "${ANACONDA_DIR}" "${env_dir}" ${SMC_PIP_PACKAGES} << 'SH'
source "$1/bin/activate" "$2" && shift 2 && python -m pip install --no-cache-dir "$@" < /dev/null
SH
fi

rm -f "${marker}"
echo "environment ${SMC_ENV_NAME} is ready"
