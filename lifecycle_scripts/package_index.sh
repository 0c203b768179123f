#!/bin/bash
# Point pip (and conda, when a channel is given) at a private package index, for every
# kernel of NOTEBOOK_USER. Re-done on each start: the user's home is not on the volume.
# pip.conf and .condarc are merged into what is there: only pip's index-url and conda's
# channels are set; every other setting (SageMaker's, the user's) is kept.
# Parameters (at least one source):
#   SMC_PIP_INDEX_URL            a PEP 503 simple index, e.g. https://pypi.example.com/simple/
#   SMC_CODEARTIFACT_DOMAIN      CodeArtifact domain (owner: this notebook's account)
#   SMC_CODEARTIFACT_REPOSITORY  CodeArtifact repository
#   SMC_CONDA_CHANNEL            a conda channel URL (https:// or file://)
#   SMC_REFRESH_ONLY             1: only renew the CodeArtifact token in pip.conf (the timer)
# CodeArtifact tokens are fetched with the notebook's role through the VPC endpoints and
# last at most 12 hours: a systemd timer (AL2023 has no cron) fetches a new one every
# 6 hours while the notebook runs, and each start fetches one.
set -euo pipefail

: "${NOTEBOOK_USER:=ec2-user}"
: "${NOTEBOOK_HOME:=/home/ec2-user}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_SYSTEM_PYTHON:=/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}"
: "${SMC_PIP_INDEX_URL:=}"
: "${SMC_CODEARTIFACT_DOMAIN:=}"
: "${SMC_CODEARTIFACT_REPOSITORY:=}"
: "${SMC_CONDA_CHANNEL:=}"
: "${SMC_REFRESH_ONLY:=0}"
: "${SYSTEMD_DIR:=/etc/systemd/system}"

index_url=""
if [ -n "${SMC_CODEARTIFACT_DOMAIN}" ]; then
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
scheme, rest = endpoint.split("://", 1)
print(scheme + "://aws:" + token + "@" + rest.rstrip("/") + "/simple/")
PY
  )"
elif [ -n "${SMC_PIP_INDEX_URL}" ]; then
  index_url="${SMC_PIP_INDEX_URL}"
elif [ -z "${SMC_CONDA_CHANNEL}" ]; then
  echo "no package source given" >&2
  exit 2
fi

# merged KIND FILE: FILE's settings with pip's index-url (KIND pip) or conda's channels
# (KIND conda) set to SMC_VALUE, on stdout. Read as root, written back by the user. The
# value comes in the environment: a token in the arguments would show in `ps`.
merged() {
  "${SMC_SYSTEM_PYTHON}" - "$@" << 'PY'
import configparser
import os
import sys

kind, path = sys.argv[1:3]
value = os.environ["SMC_VALUE"]
text = open(path).read() if os.path.isfile(path) else ""
if kind == "pip":
    config = configparser.RawConfigParser()
    config.read_string(text)
    if not config.has_section("global"):
        config.add_section("global")
    config.set("global", "index-url", value)
    config.write(sys.stdout)
    sys.exit(0)
# conda: every top-level block but channels kept as text (no YAML parser needed)
kept, skip = [], False
for line in text.splitlines():
    if line[:1] not in ("", " ", "\t", "-", "#"):
        skip = line.split(":", 1)[0].strip() == "channels"
    if not skip and line.strip():
        kept.append(line)
sys.stdout.write("".join(f"{line}\n" for line in kept) + f"channels:\n  - {value}\n")
PY
}

if [ -n "${index_url}" ]; then
  pip_conf="${NOTEBOOK_HOME}/.config/pip/pip.conf"
  content="$(SMC_VALUE="${index_url}" merged pip "${pip_conf}")"
  printf '%s\n' "${content}" | smc_write_as_user "${pip_conf}" 600
  echo "pip: every kernel installs from ${SMC_PIP_INDEX_URL:-CodeArtifact ${SMC_CODEARTIFACT_DOMAIN}}"
fi
[ "${SMC_REFRESH_ONLY}" = 1 ] && exit 0

if [ -n "${SMC_CONDA_CHANNEL}" ]; then
  condarc="${NOTEBOOK_HOME}/.condarc"
  content="$(SMC_VALUE="${SMC_CONDA_CHANNEL}" merged conda "${condarc}")"
  printf '%s\n' "${content}" | smc_write_as_user "${condarc}" 600
  echo "conda: every environment uses ${SMC_CONDA_CHANNEL}"
fi

if [ -n "${SMC_CODEARTIFACT_DOMAIN}" ] && command -v systemctl > /dev/null 2>&1; then
  unit=sagemaker-constructs-codeartifact-token
  here="${SMC_WORK_DIR}/fragments"
  mkdir -p "${SYSTEMD_DIR}"
  cat > "${SYSTEMD_DIR}/${unit}.service" << EOF
[Service]
Type=oneshot
Environment=SMC_REFRESH_ONLY=1 SMC_CODEARTIFACT_DOMAIN=${SMC_CODEARTIFACT_DOMAIN}
Environment=SMC_CODEARTIFACT_REPOSITORY=${SMC_CODEARTIFACT_REPOSITORY}
Environment=SMC_METADATA_FILE=${SMC_METADATA_FILE} SMC_SYSTEM_PYTHON=${SMC_SYSTEM_PYTHON}
Environment=NOTEBOOK_USER=${NOTEBOOK_USER} NOTEBOOK_HOME=${NOTEBOOK_HOME}
ExecStart=/bin/bash -c '. ${here}/host.sh && exec bash ${here}/package_index.sh'
EOF
  cat > "${SYSTEMD_DIR}/${unit}.timer" << EOF
[Timer]
OnActiveSec=6h
OnUnitActiveSec=6h
[Install]
WantedBy=timers.target
EOF
  chmod 0644 "${SYSTEMD_DIR}/${unit}".*
  systemctl daemon-reload
  systemctl enable --now "${unit}.timer"
  echo "pip: ${unit}.timer renews the token every 6 h"
fi
