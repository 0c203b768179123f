#!/bin/bash
# Studio: point pip (and conda, when a channel is given) of the app user at a private
# package index. Runs at every app start: the files live in the user's home on the space's
# volume, and a CodeArtifact token lasts 12 hours, so each start writes a fresh one.
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

# write_private PATH: stdin to PATH, mode 600 (it may hold a token), owned by the app user.
write_private() {
  (umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv -f "$1.tmp" "$1")
  if [ "$(id -u)" -eq 0 ]; then
    chown "${NOTEBOOK_USER}" "$1"
  fi
}

printf '[global]\nindex-url = %s\n' "${index_url}" \
  | write_private "${SAGEMAKER_DIR}/.config/pip/pip.conf"
echo "pip: every kernel of ${NOTEBOOK_USER} installs from ${described}"

if [ -n "${SMC_CONDA_CHANNEL}" ]; then
  printf 'channels:\n  - %s\ndefault_channels: []\n' "${SMC_CONDA_CHANNEL}" \
    | write_private "${SAGEMAKER_DIR}/.condarc"
  echo "conda: every environment of ${NOTEBOOK_USER} uses ${SMC_CONDA_CHANNEL}"
fi
