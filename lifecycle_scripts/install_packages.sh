#!/bin/bash
# Install pinned packages into a kernel's environment, as NOTEBOOK_USER, with that
# environment activated. Can take minutes: run it detached.
# Parameters:
#   SMC_ENV_DIR     the environment's prefix (e.g. /home/ec2-user/anaconda3/envs/python3)
#   SMC_INSTALLER   pip | conda
#   SMC_PACKAGES    space-separated pinned specs (pip: name==version; conda: name=version)
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENV_DIR:?SMC_ENV_DIR is required}"
: "${SMC_INSTALLER:?SMC_INSTALLER is required (pip or conda)}"
: "${SMC_PACKAGES:?SMC_PACKAGES is required}"

if [ ! -x "${SMC_ENV_DIR}/bin/python" ]; then
  echo "no environment at ${SMC_ENV_DIR}" >&2
  exit 1
fi

case "${SMC_INSTALLER}" in
  pip) command='python -m pip install --no-cache-dir "$@"' ;;
  conda) command='conda install --yes --quiet "$@"' ;;
  *)
    echo "SMC_INSTALLER must be pip or conda, got ${SMC_INSTALLER}" >&2
    exit 2
    ;;
esac

echo "installing into ${SMC_ENV_DIR} with ${SMC_INSTALLER}: ${SMC_PACKAGES}"
# shellcheck disable=SC2086 # package lists are word-split on purpose (validated specs)
sudo -u "${NOTEBOOK_USER}" -i bash -c \
  "source \"\$1/bin/activate\" \"\$2\" && shift 2 && ${command}" \
  _ "${ANACONDA_DIR}" "${SMC_ENV_DIR}" ${SMC_PACKAGES}
echo "installed into ${SMC_ENV_DIR}: ${SMC_PACKAGES}"
