#!/usr/bin/env bash
# Debian packages the build and the tests need beyond Rust and PostgreSQL, installed when
# missing: OpenSSL headers and pkg-config (libpq is built with TLS), the openssl command (the
# TLS tests make their own certificate authority) and pgbouncer (the transaction-pooler tests).
set -euo pipefail
missing=()
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || missing+=(pgbouncer)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The package starts a pgbouncer service on port 6432; the tests start their own.
  if [[ " ${missing[*]} " == *" pgbouncer "* ]] && command -v service >/dev/null 2>&1; then
    $sudo service pgbouncer stop >/dev/null 2>&1 || true
  fi
fi
