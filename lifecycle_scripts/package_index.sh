#!/bin/bash
# Point pip (and conda, when a channel is given) at a private package index, for every
# kernel of NOTEBOOK_USER. Re-done on each start: the user's home is not on the volume.
# Parameters (SMC_PIP_INDEX_URL, or SMC_CODEARTIFACT_DOMAIN with _REPOSITORY):
#   SMC_PIP_INDEX_URL            a PEP 503 simple index, e.g. https://pypi.example.com/simple/
#   SMC_CODEARTIFACT_DOMAIN      CodeArtifact domain (owner: this notebook's account)
#   SMC_CODEARTIFACT_REPOSITORY  CodeArtifact repository
#   SMC_CONDA_CHANNEL            optional conda channel URL
# CodeArtifact tokens are fetched with the notebook's role through the VPC endpoints and
# last 12 hours; each start fetches a new one.
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_SYSTEM_PYTHON:=/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}"
: "${SMC_PIP_INDEX_URL:=}"
: "${SMC_CODEARTIFACT_DOMAIN:=}"
: "${SMC_CODEARTIFACT_REPOSITORY:=}"
: "${SMC_CONDA_CHANNEL:=}"

if [ -n "${SMC_CODEARTIFACT_DOMAIN}" ]; then
  described="CodeArtifact ${SMC_CODEARTIFACT_DOMAIN}/${SMC_CODEARTIFACT_REPOSITORY}"
  index_url="$("${SMC_SYSTEM_PYTHON}" - "${SMC_METADATA_FILE}" "${SMC_CODEARTIFACT_DOMAIN}" \
    "${SMC_CODEARTIFACT_REPOSITORY}" << 'PY'
import json
import sys

import boto3

metadata, domain, repository = sys.argv[1:4]
with open(metadata) as fh:
    arn = json.load(fh)["ResourceArn"].split(":")
region, account = arn[3], arn[4]
client = boto3.client("codeartifact", region_name=region)
token = client.get_authorization_token(
    domain=domain, domainOwner=account, durationSeconds=43200
)["authorizationToken"]
endpoint = client.get_repository_endpoint(
    domain=domain, domainOwner=account, repository=repository, format="pypi"
)["repositoryEndpoint"]
print("https://aws:" + token + "@" + endpoint.split("://", 1)[1].rstrip("/") + "/simple/")
PY
  )"
elif [ -n "${SMC_PIP_INDEX_URL}" ]; then
  described="${SMC_PIP_INDEX_URL}"
  index_url="${SMC_PIP_INDEX_URL}"
else
  echo "SMC_PIP_INDEX_URL or SMC_CODEARTIFACT_DOMAIN is required" >&2
  exit 2
fi

home="$(sudo -u "${NOTEBOOK_USER}" -i printenv HOME)"
# write_as_user PATH: stdin to PATH, owned by the user, mode 600 (it may hold a token).
# PATH is made anew: an existing one would keep its mode (rm first, then umask applies).
write_as_user() {
  # shellcheck disable=SC2016 # expanded by the user's shell
  sudo -u "${NOTEBOOK_USER}" -i bash -c \
    'umask 077 && mkdir -p "$(dirname "$1")" && rm -f "$1" && cat > "$1"' _ "$1"
}

printf '[global]\nindex-url = %s\n' "${index_url}" | write_as_user "${home}/.config/pip/pip.conf"
echo "pip: every kernel of ${NOTEBOOK_USER} installs from ${described}"

if [ -n "${SMC_CONDA_CHANNEL}" ]; then
  printf 'channels:\n  - %s\ndefault_channels: []\n' "${SMC_CONDA_CHANNEL}" \
    | write_as_user "${home}/.condarc"
  echo "conda: every environment of ${NOTEBOOK_USER} uses ${SMC_CONDA_CHANNEL}"
fi
