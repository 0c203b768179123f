#!/bin/bash
# Studio: point pip (and conda, when a channel is given) of the app user at a private
# package index. Runs at every app start: the files live in the user's home on the space's
# volume, and a CodeArtifact token lasts 12 hours, so each start writes a fresh one.
# The user's own settings are kept: ~/.config/pip/pip.conf gets [global] index-url and
# keeps every other option and section; ~/.condarc gets the channel first in `channels`
# and keeps every other key. A file that cannot be read as such is left alone (the step
# fails and says so). Both are parsed by the image's Python (configparser, PyYAML: jupyter
# server's jupyter_events needs PyYAML, so every JupyterLab image has it).
# Runs as the app user; run as root, it writes the same files and gives them to the user.
# Parameters (SMC_PIP_INDEX_URL, or SMC_CODEARTIFACT_DOMAIN with _REPOSITORY):
#   SMC_PIP_INDEX_URL            a PEP 503 simple index, e.g. https://pypi.example.com/simple/
#   SMC_CODEARTIFACT_DOMAIN      CodeArtifact domain (owner: this app's account)
#   SMC_CODEARTIFACT_REPOSITORY  CodeArtifact repository
#   SMC_CONDA_CHANNEL            optional conda channel URL
# The token is fetched with the space's execution role through the VPC endpoints.
set -euo pipefail

: "${NOTEBOOK_USER:=sagemaker-user}"
: "${SAGEMAKER_DIR:=/home/sagemaker-user}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_SYSTEM_PYTHON:=/opt/conda/bin/python}"
: "${SMC_PIP_INDEX_URL:=}"
: "${SMC_CODEARTIFACT_DOMAIN:=}"
: "${SMC_CODEARTIFACT_REPOSITORY:=}"
: "${SMC_CONDA_CHANNEL:=}"

if [ -n "${SMC_CODEARTIFACT_DOMAIN}" ]; then
  described="CodeArtifact ${SMC_CODEARTIFACT_DOMAIN}/${SMC_CODEARTIFACT_REPOSITORY}"
  index_url="$("${SMC_SYSTEM_PYTHON}" - "${SMC_METADATA_FILE}" "${SMC_CODEARTIFACT_DOMAIN}" \
    "${SMC_CODEARTIFACT_REPOSITORY}" << 'PY'
import json
import os
import sys

import boto3

metadata, domain, repository = sys.argv[1:4]
with open(metadata) as fh:
    arn = json.load(fh)["ResourceArn"].split(":")
region, account = os.environ.get("AWS_REGION") or arn[3], arn[4]
client = boto3.client("codeartifact", region_name=region)
token = client.get_authorization_token(
    domain=domain, domainOwner=account, durationSeconds=43200
)["authorizationToken"]
endpoint = client.get_repository_endpoint(
    domain=domain, domainOwner=account, repository=repository, format="pypi"
)["repositoryEndpoint"]
scheme, rest = endpoint.split("://", 1)
print(scheme + "://aws:" + token + "@" + rest.rstrip("/") + "/simple/")
PY
  )"
elif [ -n "${SMC_PIP_INDEX_URL}" ]; then
  described="${SMC_PIP_INDEX_URL}"
  index_url="${SMC_PIP_INDEX_URL}"
else
  echo "SMC_PIP_INDEX_URL or SMC_CODEARTIFACT_DOMAIN is required" >&2
  exit 2
fi

# merge KIND PATH VALUE: KIND pip sets [global] index-url, conda puts the channel first.
# The file is replaced atomically with mode 600 (it may hold a token), owned by the user.
merge() {
  (umask 077 && mkdir -p "$(dirname "$2")" && "${SMC_SYSTEM_PYTHON}" - "$@" << 'PY'
import configparser
import os
import sys

kind, path, value = sys.argv[1:4]
if kind == "pip":
    config = configparser.RawConfigParser()
    config.optionxform = str  # keep the user's spelling of option names
    config.read(path, encoding="utf-8")
    if not config.has_section("global"):
        config.add_section("global")
    config.set("global", "index-url", value)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        config.write(fh)
else:
    import yaml

    data = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict) or not isinstance(data.get("channels", []), list):
        sys.exit(f"{path} is not a conda configuration (a mapping with a channels list)")
    data["channels"] = [value] + [c for c in data.get("channels", []) if c != value]
    data["default_channels"] = []
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, default_flow_style=False, sort_keys=False)
os.chmod(path + ".tmp", 0o600)
os.replace(path + ".tmp", path)
PY
  )
  if [ "$(id -u)" -eq 0 ]; then
    # The file and the folders made for it, up to the home (e.g. ~/.config/pip).
    local path="$2"
    while [ "${path}" != "${SAGEMAKER_DIR}" ] && [ "${path}" != / ]; do
      chown "${NOTEBOOK_USER}" "${path}"
      path="$(dirname "${path}")"
    done
  fi
}

merge pip "${SAGEMAKER_DIR}/.config/pip/pip.conf" "${index_url}"
echo "pip: every kernel of ${NOTEBOOK_USER} installs from ${described}"

if [ -n "${SMC_CONDA_CHANNEL}" ]; then
  merge conda "${SAGEMAKER_DIR}/.condarc" "${SMC_CONDA_CHANNEL}"
  echo "conda: every environment of ${NOTEBOOK_USER} uses ${SMC_CONDA_CHANNEL} first"
fi
