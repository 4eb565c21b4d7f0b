#!/bin/sh
# Installs Debian's headless-capable Chromium for the browser test when it is missing.
# Idempotent and quiet; needs root (or sudo) and the Debian package mirrors. Never downloads
# a browser build of its own: the test drives /usr/bin/chromium.
set -eu

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure-chromium: chromium is missing and this user cannot install it (run: apt-get install chromium)" >&2
        exit 1
    fi
fi

echo "ensure-chromium: installing Debian's chromium ..." >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-chromium: could not install chromium" >&2
    exit 1
fi
command -v chromium >/dev/null 2>&1
