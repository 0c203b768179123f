#!/bin/bash
# Host layout of a SageMaker notebook instance, as variables with the real defaults.
# Every fragment sources nothing else; the composed script exports these once so that a
# test harness can point them at a simulated host without changing the scripts.
: "${NOTEBOOK_USER:=ec2-user}"
: "${NOTEBOOK_HOME:=/home/ec2-user}"
: "${SAGEMAKER_DIR:=/home/ec2-user/SageMaker}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENVS_DIR:=${SAGEMAKER_DIR}/envs}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_RESTART_JUPYTER:=true}"
export NOTEBOOK_USER NOTEBOOK_HOME SAGEMAKER_DIR ANACONDA_DIR SMC_ENVS_DIR SMC_METADATA_FILE \
  SMC_RESTART_JUPYTER

# smc_as_user COMMAND...: run COMMAND as the notebook user in a login shell (sudo -i), with
# HOME=NOTEBOOK_HOME (the same on a host). sudo -i hands the command to the shell and leaves
# "$" unescaped, so no argument may hold a "$": pass scripts on stdin (bash -s) instead.
smc_as_user() {
  sudo -u "${NOTEBOOK_USER}" -i HOME="${NOTEBOOK_HOME}" "$@"
}

# smc_write_as_user PATH MODE < CONTENT: PATH made anew by the user (an existing one would
# keep its mode), private while written, then MODE; the user's own file, never root's.
smc_write_as_user() {
  smc_as_user bash -s -- "$1" "$2" << 'SH'
umask 077 && mkdir -p "$(dirname "$1")" && rm -f "$1" && : > "$1" && chmod "$2" "$1"
SH
  smc_as_user tee "$1" > /dev/null
}
export -f smc_as_user smc_write_as_user
