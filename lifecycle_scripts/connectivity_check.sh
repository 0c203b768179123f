#!/bin/bash
# Log whether the notebook can reach a URL (HTTP HEAD, short timeout). The answer is
# information for whoever reads the lifecycle log; only a required check (a
# ConnectivityCheck with optional=False) fails the start when the URL is unreachable.
# Parameters:
#   SMC_CHECK_URL       the URL
#   SMC_CHECK_TIMEOUT   seconds (default 5)
#   SMC_CHECK_REQUIRED  1: exit 1 when unreachable (default 0: always exit 0)
set -uo pipefail

: "${SMC_CHECK_URL:?SMC_CHECK_URL is required}"
: "${SMC_CHECK_TIMEOUT:=5}"
: "${SMC_CHECK_REQUIRED:=0}"

code="$(curl --head --silent --output /dev/null --write-out '%{http_code}' \
  --max-time "${SMC_CHECK_TIMEOUT}" "${SMC_CHECK_URL}" 2> /dev/null)"
rc=$?
if [ "${rc}" -eq 0 ] && [ "${code}" != "000" ]; then
  echo "connectivity: ${SMC_CHECK_URL} reachable (HTTP ${code})"
else
  echo "connectivity: ${SMC_CHECK_URL} NOT reachable within ${SMC_CHECK_TIMEOUT} s (curl exit ${rc})"
  [ "${SMC_CHECK_REQUIRED}" = "1" ] && exit 1
fi
exit 0
