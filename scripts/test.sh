#!/usr/bin/env bash
# The whole test suite: builds the binary the end-to-end tests start, then runs every test of
# the workspace against a real SQLite file and the PostgreSQL at TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --bin consultores
cargo test --locked --workspace "$@"
