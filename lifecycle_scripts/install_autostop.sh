#!/bin/bash
# On-start: run the idle auto-stop checker (idle_autostop.py) every few minutes, so this notebook
# instance stops itself once Jupyter has been idle. Installs the systemd units
# sagemaker-idle-autostop.service/.timer; without systemctl, a cron.d entry instead. The root
# volume is fresh on every start, so this runs on every start; running it again rewrites the
# same files.
#
# Parameters (environment variables):
#   AUTOSTOP_IDLE_MINUTES        required: idle minutes before the instance stops, a positive
#                                number (e.g. 60 or 7.5)
#   AUTOSTOP_TERMINAL_IDLE_MINUTES  optional: idle minutes of a terminal, by its own input and
#                                output (default: AUTOSTOP_IDLE_MINUTES)
#   AUTOSTOP_IGNORE_CONNECTIONS  true|false (default false): true = a browser tab connected to
#                                an idle kernel does not count as activity
#   AUTOSTOP_CHECKER             required: absolute path of the checker, written there before
#                                this runs
#   AUTOSTOP_PYTHON              python that runs the checker (must import boto3); default
#                                /home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python
#   AUTOSTOP_INTERVAL_MINUTES    minutes between checks, 1-60 (default 5)
#   SYSTEMD_DIR                  where the units go (default /etc/systemd/system)
#   CRON_DIR                     where the cron entry goes without systemctl (default /etc/cron.d)
# A detached lifecycle step still running (its busy marker, see detached.sh) keeps the notebook
# up. The checker's lines go to the journal and to CloudWatch (stream <notebook>/idle-autostop).
set -euo pipefail

autostop_log() { echo "[install-autostop] $*"; }
autostop_fail() {
  echo "[install-autostop] error: $*" >&2
  exit 1
}
# autostop_write PATH < CONTENT: replace PATH whole (mode 0644), never leave it half-written.
autostop_write() {
  cat >"$1.tmp"
  chmod 0644 "$1.tmp"
  mv -f "$1.tmp" "$1"
}

autostop_unit=sagemaker-idle-autostop
autostop_idle="${AUTOSTOP_IDLE_MINUTES:-}"
autostop_terminal_idle="${AUTOSTOP_TERMINAL_IDLE_MINUTES:-}"
autostop_ignore="${AUTOSTOP_IGNORE_CONNECTIONS:-false}"
autostop_checker="${AUTOSTOP_CHECKER:-}"
autostop_python="${AUTOSTOP_PYTHON:-/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}"
autostop_interval="${AUTOSTOP_INTERVAL_MINUTES:-5}"
autostop_systemd_dir="${SYSTEMD_DIR:-/etc/systemd/system}"
autostop_cron_dir="${CRON_DIR:-/etc/cron.d}"

[[ -n "${autostop_idle}" ]] ||
  autostop_fail "AUTOSTOP_IDLE_MINUTES is not set; give the idle minutes before auto-stop, e.g. 60"
if ! [[ "${autostop_idle}" =~ ^([0-9]+([.][0-9]*)?|[.][0-9]+)$ && "${autostop_idle}" =~ [1-9] ]]; then
  autostop_fail "AUTOSTOP_IDLE_MINUTES must be a positive number of minutes (e.g. 60 or 7.5), got '${autostop_idle}'"
fi
if [[ -n "${autostop_terminal_idle}" ]]; then
  if ! [[ "${autostop_terminal_idle}" =~ ^([0-9]+([.][0-9]*)?|[.][0-9]+)$ && "${autostop_terminal_idle}" =~ [1-9] ]]; then
    autostop_fail "AUTOSTOP_TERMINAL_IDLE_MINUTES must be a positive number of minutes (e.g. 120), got '${autostop_terminal_idle}'"
  fi
  autostop_terminal_flag=" --terminal-idle-minutes ${autostop_terminal_idle}"
else
  autostop_terminal_flag=""
fi
case "${autostop_ignore}" in
  true | True | TRUE) autostop_flags=" --ignore-connections" ;;
  false | False | FALSE) autostop_flags="" ;;
  *) autostop_fail "AUTOSTOP_IGNORE_CONNECTIONS must be true or false, got '${autostop_ignore}'" ;;
esac
if ! [[ "${autostop_interval}" =~ ^[1-9][0-9]?$ ]] || [[ "${autostop_interval}" -gt 60 ]]; then
  autostop_fail "AUTOSTOP_INTERVAL_MINUTES must be a whole number of minutes from 1 to 60, got '${autostop_interval}'"
fi
[[ -n "${autostop_checker}" ]] ||
  autostop_fail "AUTOSTOP_CHECKER is not set; give the path the checker (idle_autostop.py) was written to"
# Both paths go unquoted into a unit file and a crontab line: keep them plain.
for autostop_path in "${autostop_checker}" "${autostop_python}"; do
  [[ "${autostop_path}" =~ ^/[A-Za-z0-9._/+-]+$ ]] ||
    autostop_fail "AUTOSTOP_CHECKER and AUTOSTOP_PYTHON must be absolute paths of letters, digits and ._/+-, got '${autostop_path}'"
done
[[ -f "${autostop_checker}" ]] || autostop_fail "AUTOSTOP_CHECKER: no checker at ${autostop_checker}"
[[ -x "${autostop_python}" ]] || autostop_fail "AUTOSTOP_PYTHON: no executable python at ${autostop_python}"
# Without boto3 the checker could decide but never stop the notebook nor log to CloudWatch:
# fail the step now, where the lifecycle log shows it, not silently at every check.
if ! autostop_probe=$("${autostop_python}" -c 'import boto3, botocore' 2>&1); then
  autostop_fail "AUTOSTOP_PYTHON: ${autostop_python} cannot import boto3, which the checker needs to stop the notebook and to log to CloudWatch ($(tail -n 1 <<<"${autostop_probe}")); point AUTOSTOP_PYTHON at the notebook's JupyterSystemEnv python"
fi

autostop_command="${autostop_python} ${autostop_checker} --idle-minutes ${autostop_idle}${autostop_terminal_flag}${autostop_flags}"

if command -v systemctl >/dev/null 2>&1; then
  mkdir -p "${autostop_systemd_dir}"
  autostop_write "${autostop_systemd_dir}/${autostop_unit}.service" <<EOF
[Unit]
Description=Stop this notebook instance after ${autostop_idle} idle minutes of Jupyter
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${autostop_command}
EOF
  autostop_write "${autostop_systemd_dir}/${autostop_unit}.timer" <<EOF
[Unit]
Description=Check every ${autostop_interval} minutes whether Jupyter is idle

[Timer]
OnActiveSec=${autostop_interval}min
OnUnitActiveSec=${autostop_interval}min
AccuracySec=30s

[Install]
WantedBy=timers.target
EOF
  systemctl daemon-reload
  systemctl enable --now "${autostop_unit}.timer"
  autostop_log "timer ${autostop_unit}.timer runs every ${autostop_interval} min: ${autostop_command}"
else
  if [[ "${autostop_interval}" -eq 60 ]]; then
    autostop_schedule="0 * * * *"
  else
    autostop_schedule="*/${autostop_interval} * * * *"
  fi
  mkdir -p "${autostop_cron_dir}"
  autostop_write "${autostop_cron_dir}/${autostop_unit}" <<EOF
# Idle auto-stop check (install_autostop.sh; no systemctl on this host).
SHELL=/bin/bash
PATH=/sbin:/bin:/usr/sbin:/usr/bin
${autostop_schedule} root ${autostop_command} >>/var/log/${autostop_unit}.log 2>&1
EOF
  autostop_log "no systemctl; cron entry ${autostop_cron_dir}/${autostop_unit}: ${autostop_schedule}"
  if ! command -v crond >/dev/null 2>&1 && ! command -v cron >/dev/null 2>&1; then
    autostop_log "warning: no cron daemon found; the entry takes effect only once cron runs"
  fi
fi
