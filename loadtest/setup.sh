#!/usr/bin/env bash
# Installs what the load benchmarks need, if missing: nginx (the reference server) and wrk.
# Idempotent and non-interactive; needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # The Debian package enables and starts a system nginx on port 80; the benchmarks start
    # their own, so stop the system one if it came up (no systemd in containers: ignore).
    $SUDO service nginx stop >/dev/null 2>&1 || true
fi

# wrk2 (constant-rate wrk) is not in Debian; bench_hits.py falls back to its own generator.
if apt-cache policy wrk2 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    command -v wrk2 >/dev/null 2>&1 || $SUDO apt-get install -y -qq wrk2
fi

echo "nginx: $( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | head -1)"
echo "wrk:   $(wrk -v 2>&1 | head -1)"
