#!/usr/bin/env bash
# Installs what the browser tests (tests/tests/browser.rs) need, from Debian packages, when it is
# missing: headless Chromium and its WebDriver (chromium, chromium-driver).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "installing chromium and chromium-driver (browser tests)"
if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
  run() { sudo "$@"; }
else
  echo "chromium/chromium-driver missing and not root: install them (apt-get install chromium chromium-driver)" >&2
  exit 1
fi
run apt-get update -qq
# An earlier install cut short (a full disk, say) leaves dpkg half-configured; finish it first.
run env DEBIAN_FRONTEND=noninteractive apt-get --fix-broken install -y -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
