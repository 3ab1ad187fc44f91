#!/usr/bin/env bash
# The whole test suite: runs every test of the workspace (the end-to-end tests build the current
# binary they start, see tests/src/lib.rs) against a real SQLite file and the PostgreSQL at
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), then fuzzes the running binary over its
# OpenAPI document (scripts/fuzz.sh), and searches every service log line of the run for key
# material (scripts/check-secrets.sh). Debian packages the build and tests need (OpenSSL headers,
# the openssl command, pgbouncer) are installed first when missing (scripts/system-deps.sh), and
# so are Debian's chromium and chromium-driver for the browser tests (scripts/install-browser.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
rm -rf target/e2e-logs
bash scripts/install-browser.sh
cargo test --locked --workspace "$@"
bash scripts/fuzz.sh
bash scripts/check-secrets.sh
