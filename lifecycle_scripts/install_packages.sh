#!/bin/bash
# Install pinned packages into a kernel's environment, as NOTEBOOK_USER, with that
# environment activated. Can take minutes: run it detached.
# Parameters:
#   SMC_ENV_DIR     the environment's prefix (e.g. /home/ec2-user/anaconda3/envs/python3)
#   SMC_INSTALLER   pip | conda
#   SMC_PACKAGES    space-separated pinned specs (pip: name==version; conda: name=version)
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${NOTEBOOK_HOME:=/home/ec2-user}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENV_DIR:?SMC_ENV_DIR is required}"
: "${SMC_INSTALLER:?SMC_INSTALLER is required (pip or conda)}"
: "${SMC_PACKAGES:?SMC_PACKAGES is required}"

if [ ! -x "${SMC_ENV_DIR}/bin/python" ]; then
  echo "no environment at ${SMC_ENV_DIR}" >&2
  exit 1
fi

# shellcheck disable=SC2016 # expanded by the user's shell
case "${SMC_INSTALLER}" in
  pip) command='python -m pip install --no-cache-dir "$@"' ;;
  conda) command='conda install --yes --quiet "$@"' ;;
  *)
    echo "SMC_INSTALLER must be pip or conda, got ${SMC_INSTALLER}" >&2
    exit 2
    ;;
esac

echo "installing into ${SMC_ENV_DIR} with ${SMC_INSTALLER}: ${SMC_PACKAGES}"
# The script goes on stdin: sudo -i would expand a "$" in an argument (host.sh).
# shellcheck disable=SC2086 # package lists are word-split on purpose (validated specs)
# shellcheck disable=SC2016 # expanded by the user's shell
printf 'source "$1/bin/activate" "$2" && shift 2 && %s < /dev/null\n' "${command}" \
  | smc_as_user bash -s -- "${ANACONDA_DIR}" "${SMC_ENV_DIR}" ${SMC_PACKAGES}
echo "installed into ${SMC_ENV_DIR}: ${SMC_PACKAGES}"
