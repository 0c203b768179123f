#!/bin/bash
# Step runner shared by every composed lifecycle script (on-create and on-start).
#
# A composed script writes each step to its own file and runs it with smc_run_step:
#   foreground steps run now; the start waits for them, so they must take seconds;
#   detached steps run in a new session (setsid + nohup, see detached.sh) and outlive
#   this script, so the 5-minute limit never applies to them. Their output goes to a log
#   file under SMC_LOG_DIR and, through cw_tee.py, to CloudWatch Logs.
# An optional step that fails is logged and the start goes on; a required one fails it.
#
# Host paths are variables with the notebook host's defaults, so the same script can run
# against a simulated host in tests.
: "${SMC_PHASE:=lifecycle}"
: "${SMC_WORK_DIR:=/var/tmp/sagemaker-constructs/${SMC_PHASE}}"
: "${SMC_LOG_DIR:=/var/log/sagemaker-constructs}"
: "${SMC_SYSTEM_PYTHON:=/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}"
export SMC_PHASE SMC_WORK_DIR SMC_LOG_DIR SMC_SYSTEM_PYTHON

smc_log() {
  printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SMC_PHASE}" "$*"
}

# smc_run_step NAME MODE OPTIONAL FILE
#   MODE: foreground | detached; OPTIONAL: true | false
smc_run_step() {
  local name="$1" mode="$2" optional="$3" file="$4"
  local started=${SECONDS}
  if [ "${mode}" = detached ]; then
    local log="${SMC_LOG_DIR}/${SMC_PHASE}-${name}.log"
    smc_log "step ${name}: started in the background; progress in ${log}"
    # Every stream is redirected: a detached process holding this script's stdout open
    # would make the start wait for it.
    setsid nohup bash "${SMC_WORK_DIR}/fragments/detached.sh" "${name}" "${optional}" "${file}" "${log}" \
      < /dev/null > /dev/null 2>&1 &
    return 0
  fi
  smc_log "step ${name}: running"
  local rc=0
  bash "${file}" || rc=$?
  if [ "${rc}" -eq 0 ]; then
    smc_log "step ${name}: done in $((SECONDS - started)) s"
  elif [ "${optional}" = true ]; then
    smc_log "step ${name}: FAILED (optional, exit code ${rc}; the start goes on)"
    rc=0
  else
    smc_log "step ${name}: FAILED with exit code ${rc}"
  fi
  return "${rc}"
}

mkdir -p "${SMC_WORK_DIR}" "${SMC_LOG_DIR}"
