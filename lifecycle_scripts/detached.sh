#!/bin/bash
# Runs one detached step (started by runner.sh in its own session) and sends every line
# it prints, with a timestamp, to its log file and, when possible, to CloudWatch Logs.
# Arguments: NAME OPTIONAL(true|false) STEP_FILE LOG_FILE
#
# While the step runs, ${SMC_WORK_DIR}/running/NAME.pid holds this process's PID: the idle
# auto-stop checker leaves the notebook running while such a marker names a live detached.sh
# (a conda environment still being created, say). The marker goes when the step ends.
set -uo pipefail
name="$1" optional="$2" file="$3" log="$4"
marker_dir="${SMC_WORK_DIR:?SMC_WORK_DIR is not set (runner.sh sets it)}/running"
marker="${marker_dir}/${name}.pid"

# Killed by a signal (the step's session is, at shutdown), it still goes through the EXIT trap.
# The traps come first: a signal right after the marker is written must remove it too.
trap 'rm -f "${marker}" "${marker}.tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "${marker_dir}"
echo "$$" > "${marker}.tmp" && mv -f "${marker}.tmp" "${marker}"

run() {
  echo "step ${name}: started"
  local rc=0
  bash "${file}" 2>&1 || rc=$?
  if [ "${rc}" -eq 0 ]; then
    echo "step ${name}: done"
  elif [ "${optional}" = true ]; then
    echo "step ${name}: FAILED (optional, exit code ${rc}; ignored)"
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
run | { "${SMC_SYSTEM_PYTHON:-}" "${SMC_WORK_DIR}/fragments/cw_tee.py" --file "${log}" \
  --stream "${SMC_PHASE:-lifecycle}-${name}" || stamp; }
