#!/bin/bash
# Studio: install pinned packages into an environment of the app's image, as the app user.
# The image's environments are not on the space's volume, so this runs at every app start;
# it can take minutes: run it detached. Run as root, it switches to the app user first, so
# the environment never gets files the user cannot replace.
# Parameters:
#   SMC_ENV_DIR     the environment's prefix (e.g. /opt/conda)
#   SMC_INSTALLER   pip | conda
#   SMC_PACKAGES    space-separated pinned specs (pip: name==version; conda: name=version)
set -euo pipefail

: "${NOTEBOOK_USER:=sagemaker-user}"
: "${SMC_ENV_DIR:?SMC_ENV_DIR is required}"
: "${SMC_INSTALLER:?SMC_INSTALLER is required (pip or conda)}"
: "${SMC_PACKAGES:?SMC_PACKAGES is required}"

if [ ! -x "${SMC_ENV_DIR}/bin/python" ]; then
  echo "no environment at ${SMC_ENV_DIR}" >&2
  exit 1
fi

as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "${NOTEBOOK_USER}" -- "$@"
  else
    "$@"
  fi
}

# Package lists are word-split on purpose (validated specs).
read -r -a packages <<< "${SMC_PACKAGES}"
echo "installing into ${SMC_ENV_DIR} with ${SMC_INSTALLER}: ${SMC_PACKAGES}"
case "${SMC_INSTALLER}" in
  pip)
    as_user "${SMC_ENV_DIR}/bin/python" -m pip install --no-cache-dir "${packages[@]}"
    ;;
  conda)
    # SageMaker Distribution images ship micromamba; other images may have conda.
    installer="$(command -v micromamba || command -v conda || true)"
    if [ -z "${installer}" ]; then
      echo "neither micromamba nor conda is on PATH" >&2
      exit 1
    fi
    as_user "${installer}" install --yes --quiet --prefix "${SMC_ENV_DIR}" "${packages[@]}"
    ;;
  *)
    echo "SMC_INSTALLER must be pip or conda, got ${SMC_INSTALLER}" >&2
    exit 2
    ;;
esac
echo "installed into ${SMC_ENV_DIR}: ${SMC_PACKAGES}"
