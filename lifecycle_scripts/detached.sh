#!/bin/bash
# Runs one detached step (started by runner.sh in its own session) and sends every line
# it prints, with a timestamp, to its log file and, when possible, to CloudWatch Logs.
# Arguments: NAME OPTIONAL(true|false) STEP_FILE LOG_FILE
set -uo pipefail
name="$1" optional="$2" file="$3" log="$4"

run() {
  echo "step ${name}: started"
  local rc=0
  bash "${file}" 2>&1 || rc=$?
  if [ "${rc}" -eq 0 ]; then
    echo "step ${name}: done"
  elif [ "${optional}" = true ]; then
    echo "step ${name}: FAILED with exit code ${rc} (optional, ignored)"
  else
    echo "step ${name}: FAILED with exit code ${rc}"
  fi
}

stamp() {
  while IFS= read -r line; do
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${line}"
  done >> "${log}"
}

# CloudWatch is best effort: if cw_tee.py cannot run, or fails, the lines it did not take
# still reach the file (stamp), and the step is not killed by a closed pipe.
run | { "${SMC_SYSTEM_PYTHON:-}" "${SMC_WORK_DIR:-}/fragments/cw_tee.py" --file "${log}" \
  --stream "${SMC_PHASE:-lifecycle}-${name}" || stamp; }
