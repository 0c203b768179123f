#!/bin/bash
# Studio: install pinned pip packages into a persistent environment of the app user, and
# register it as a kernel. Never into the image's own environment (/opt/conda), which the
# JupyterLab or Code Editor server runs in and which is the image again at every start.
#
# The environment is a virtual environment on the space's volume (the home), layered on the
# image's Python: it sees the image's packages (a .pth file adds the image's site-packages
# after its own), and what is installed here comes first. Its bin/ holds a pip that installs
# into it, and the kernel puts that bin/ first on PATH, so `!pip install` and `%pip install`
# in the kernel land here too.
# Idempotent: a record of what the environment was built from (the image's Python and the
# packages) is kept in it; a start with the same record installs nothing and asks the index
# for nothing. Another Python (a new image) rebuilds the environment.
# pip reads the index from the user's pip.conf (studio_package_index.sh).
# Run as root, it switches to the app user first, so the home never gets root's files.
# Parameters:
#   SMC_ENV_DIR              the environment's prefix, on the volume
#   SMC_BASE_PYTHON          the image's Python (e.g. /opt/conda/bin/python)
#   SMC_KERNEL_NAME          kernel spec name (e.g. python3-packages)
#   SMC_KERNEL_DISPLAY_NAME  what the launcher shows
#   SMC_PACKAGES             space-separated pinned pip specs (name==version)
set -euo pipefail

: "${NOTEBOOK_USER:=sagemaker-user}"
: "${SAGEMAKER_DIR:=/home/sagemaker-user}"
: "${SMC_ENV_DIR:?SMC_ENV_DIR is required}"
: "${SMC_BASE_PYTHON:?SMC_BASE_PYTHON is required}"
: "${SMC_KERNEL_NAME:?SMC_KERNEL_NAME is required}"
: "${SMC_KERNEL_DISPLAY_NAME:=${SMC_KERNEL_NAME}}"
: "${SMC_PACKAGES:?SMC_PACKAGES is required}"

if [ "$(id -u)" -eq 0 ]; then
  exec runuser -u "${NOTEBOOK_USER}" -- env HOME="${SAGEMAKER_DIR}" bash "${BASH_SOURCE[0]}"
fi

if [ ! -x "${SMC_BASE_PYTHON}" ]; then
  echo "no Python at ${SMC_BASE_PYTHON} (the image's environment)" >&2
  exit 1
fi

# Package lists are word-split on purpose (validated specs).
read -r -a packages <<< "${SMC_PACKAGES}"
base_version="$("${SMC_BASE_PYTHON}" -c 'import sys; print(sys.version.split()[0])')"
wanted="$(printf 'python %s %s\n' "${SMC_BASE_PYTHON}" "${base_version}"; printf '%s\n' "${packages[@]}" | sort)"
record="${SMC_ENV_DIR}/sagemaker-constructs-record.txt"
python="${SMC_ENV_DIR}/bin/python"

if [ -f "${record}" ] && [ "$(cat "${record}")" = "${wanted}" ] && "${python}" -c '' 2> /dev/null; then
  echo "up to date: ${SMC_ENV_DIR} has ${SMC_PACKAGES}; nothing installed"
else
  if [ -f "${record}" ] && [ "$(head -n 1 "${record}")" != "$(head -n 1 <<< "${wanted}")" ]; then
    echo "the image's Python changed ($(head -n 1 "${record}") -> $(head -n 1 <<< "${wanted}")); rebuilding ${SMC_ENV_DIR}"
    rm -rf "${SMC_ENV_DIR}"
  fi
  if [ ! -x "${python}" ]; then
    echo "creating ${SMC_ENV_DIR} on the image's Python ${base_version}"
    "${SMC_BASE_PYTHON}" -m venv --without-pip "${SMC_ENV_DIR}"
    own_site="$("${python}" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    image_site="$("${SMC_BASE_PYTHON}" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    # addsitedir also reads the image's own .pth files; the image's packages come after ours.
    printf 'import site; site.addsitedir(%s)\n' "$("${SMC_BASE_PYTHON}" -c 'import sys; print(repr(sys.argv[1]))' "${image_site}")" \
      > "${own_site}/sagemaker_constructs_image_packages.pth"
    # pip comes from the image; run by this environment's Python, it installs here.
    printf '#!/bin/sh\nexec "%s" -m pip "$@"\n' "${python}" > "${SMC_ENV_DIR}/bin/pip"
    chmod 755 "${SMC_ENV_DIR}/bin/pip"
    cp "${SMC_ENV_DIR}/bin/pip" "${SMC_ENV_DIR}/bin/pip3"
  fi
  echo "installing into ${SMC_ENV_DIR}: ${SMC_PACKAGES}"
  rm -f "${record}"
  "${python}" -m pip install --no-cache-dir --disable-pip-version-check "${packages[@]}"
  printf '%s\n' "${wanted}" > "${record}"
  echo "installed into ${SMC_ENV_DIR}: ${SMC_PACKAGES}"
fi

# The kernel spec lives on the volume too; written every start (cheap, and repairs edits).
kernels="${XDG_DATA_HOME:-${HOME:-${SAGEMAKER_DIR}}/.local/share}/jupyter/kernels"
mkdir -p "${kernels}/${SMC_KERNEL_NAME}"
"${python}" - "${kernels}/${SMC_KERNEL_NAME}/kernel.json" "${SMC_ENV_DIR}" \
  "${SMC_KERNEL_DISPLAY_NAME}" "$(dirname "${SMC_BASE_PYTHON}")" << 'PY'
import json
import os
import sys

path, env_dir, display_name, image_bin = sys.argv[1:5]
host_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
spec = {
    "argv": [env_dir + "/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    "display_name": display_name,
    "language": "python",
    "env": {"PATH": f"{env_dir}/bin:{image_bin}:{host_path}", "VIRTUAL_ENV": env_dir},
    "metadata": {"debugger": True},
}
with open(path + ".tmp", "w", encoding="utf-8") as fh:
    json.dump(spec, fh, indent=1)
os.replace(path + ".tmp", path)
PY
echo "kernel ${SMC_KERNEL_NAME} (${SMC_KERNEL_DISPLAY_NAME}) runs ${python}"
