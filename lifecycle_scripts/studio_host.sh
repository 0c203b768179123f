#!/bin/bash
# Host layout of a SageMaker Studio JupyterLab or Code Editor app (a SageMaker Distribution
# image or one built on it), as variables with the real defaults. The composed Studio start
# script sources this before runner.sh, so the shared runner keeps its work files in /tmp
# and its logs on the space's volume, which the app user can write. A test harness can point
# the variables at a simulated host without changing the scripts.
# The app runs as the user sagemaker-user (UID 1000, GID 100); its home is the space's EBS
# volume, the only path that survives an app restart (docs/studio.md, "The Studio host").
: "${NOTEBOOK_USER:=sagemaker-user}"
: "${SAGEMAKER_DIR:=/home/sagemaker-user}"
: "${ANACONDA_DIR:=/opt/conda}"
: "${SMC_SYSTEM_PYTHON:=${ANACONDA_DIR}/bin/python}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_WORK_DIR:=/tmp/sagemaker-constructs/${SMC_PHASE:-studio}}"
: "${SMC_LOG_DIR:=${SAGEMAKER_DIR}/.sagemaker-constructs/logs}"
# Detached steps' output goes (cw_tee.py) to Studio's log group, in a stream next to
# SageMaker's own <domain-id>/<space-name>/<app-type>/default/LifecycleConfigOnStart;
# the fields come from the metadata file (SpaceName from SAGEMAKER_SPACE_NAME if absent).
: "${SMC_CW_LOG_GROUP:=/aws/sagemaker/studio}"
# (Not a ${VAR:=...} default: its braces would end the expansion.)
if [ -z "${SMC_CW_STREAM_PREFIX:-}" ]; then
  SMC_CW_STREAM_PREFIX='{DomainId}/{SpaceName}/{AppType}/default/sagemaker-constructs'
fi
export NOTEBOOK_USER SAGEMAKER_DIR ANACONDA_DIR SMC_SYSTEM_PYTHON SMC_METADATA_FILE
export SMC_WORK_DIR SMC_LOG_DIR SMC_CW_LOG_GROUP SMC_CW_STREAM_PREFIX
# AWS does not say which user runs a Studio lifecycle script (docs/studio.md). Run as root,
# the folders on the volume that the user's own steps write to must still be the user's.
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "${SMC_LOG_DIR}"
  chown "${NOTEBOOK_USER}" "${SAGEMAKER_DIR}/.sagemaker-constructs" "${SMC_LOG_DIR}" 2> /dev/null || true
fi
