#!/usr/bin/env bash
# The system packages the suite drives for real: headless Chromium (browser tests), Dovecot (IMAP tests)
# and pgbench (the ingest benchmark's reference load). Installs what is missing where it can (root with
# apt-get), otherwise stops with the one command that does: a missing package must never turn a whole
# layer of the suite into skips.
set -euo pipefail

missing=()
command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v pgbench >/dev/null 2>&1 || [ -x "$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | head -1)" ] \
  || missing+=(postgresql-contrib)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "The test suite needs: ${missing[*]}. Install them with:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
echo "(or run 'make test SYSTEM_PACKAGES=skip' to run without them, skipping what needs them)" >&2
exit 1
