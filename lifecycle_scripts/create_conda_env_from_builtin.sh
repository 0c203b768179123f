#!/bin/bash
# Create a persistent environment on the notebook volume WITHOUT a conda channel: a venv
# made from a built-in environment's interpreter that sees every package of the built-in
# env (ipykernel included; --system-site-packages and a .pth) and pip installs into the
# venv only, from the configured index (pip.conf). Works offline: nothing is downloaded but the
# pip packages. Why not `conda create --clone --offline`: a clone re-fetches every package
# that is not in the package cache (conda/conda#5370, conda/constructor#145). The built-in
# envs are re-made on every start at the same path (docs/lifecycle.md), which the venv's
# interpreter link points to.
# Same markers as create_conda_env.sh (its name contains "create_conda_env", which
# register_kernels.sh looks for in the creating process's command line).
# Parameters:
#   SMC_ENV_NAME          environment (and kernel) name
#   SMC_BASE_ENV          the built-in environment, e.g. python3
#   SMC_PIP_PACKAGES      space-separated pinned pip specs (name==version), may be empty
# -E: the ERR trap below fires in functions too (smc_as_user).
set -Eeuo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENVS_DIR:=/home/ec2-user/SageMaker/envs}"
: "${SMC_ENV_NAME:?SMC_ENV_NAME is required}"
: "${SMC_BASE_ENV:?SMC_BASE_ENV is required}"
: "${SMC_PIP_PACKAGES:=}"

env_dir="${SMC_ENVS_DIR}/${SMC_ENV_NAME}"
marker="${SMC_ENVS_DIR}/.${SMC_ENV_NAME}.creating"
base_python="${ANACONDA_DIR}/envs/${SMC_BASE_ENV}/bin/python"
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
if [ ! -x "${base_python}" ]; then
  echo "no built-in environment ${SMC_BASE_ENV} (${base_python})" >&2
  exit 1
fi

smc_as_user mkdir -p "${SMC_ENVS_DIR}"
if [ -e "${env_dir}" ]; then
  echo "removing the half-made environment ${env_dir}"
  rm -rf "${env_dir}"
fi
echo "$$" > "${marker}"
trap 'echo failed > "${marker}"' ERR

echo "creating environment ${SMC_ENV_NAME} from built-in ${SMC_BASE_ENV} (no conda channel)"
smc_as_user "${base_python}" -m venv --system-site-packages "${env_dir}"
# --system-site-packages adds the site-packages of the interpreter's installation: the
# built-in env itself when it is a conda prefix. A .pth adds the built-in env's own
# site-packages (and what its .pth files add) explicitly, after the venv's, so the venv
# sees them whatever kind of prefix the built-in env is.
purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
base_site="$(smc_as_user "${base_python}" -c "${purelib}")"
env_site="$(smc_as_user "${env_dir}/bin/python" -c "${purelib}")"
printf 'import site; site.addsitedir(%s)\n' "'${base_site}'" \
  | smc_as_user tee "${env_site}/_smc_base_env.pth" > /dev/null

if [ -n "${SMC_PIP_PACKAGES}" ]; then
  echo "installing pip packages: ${SMC_PIP_PACKAGES}"
  # SC2086: specs are word-split on purpose (validated)
  # shellcheck disable=SC2086
  smc_as_user "${env_dir}/bin/python" -m pip install --no-cache-dir \
    ${SMC_PIP_PACKAGES}
fi

rm -f "${marker}"
echo "environment ${SMC_ENV_NAME} is ready"
