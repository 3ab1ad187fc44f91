#!/usr/bin/env bash
# Fuzzes the service over its own OpenAPI document with schemathesis (from PyPI, installed here
# into a virtualenv under target/): starts the debug binary on a fresh SQLite file on a free
# loopback port, generates requests for every operation (examples, coverage, fuzzing and
# stateful phases) and fails on any 5xx or any response that violates the documented schema.
# Traffic goes to 127.0.0.1 only.
#
# Environment: FUZZ_EXAMPLES (default 100 per operation), FUZZ_SEED (default 1: the same cases
# every run; change it to explore), CONSULTORES_BIN (default target/debug/consultores, built if
# missing).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=target/fuzz-venv
EXAMPLES="${FUZZ_EXAMPLES:-100}"
SEED="${FUZZ_SEED:-1}"
BIN="${CONSULTORES_BIN:-target/debug/consultores}"
REPORT_DIR=target/fuzz-report

python=python3
if ! command -v "$python" >/dev/null 2>&1; then
  echo "fuzz: python3 not found, installing it" >&2
  apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
fi

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  if ! "$python" -m venv "$VENV" 2>/dev/null; then
    echo "fuzz: python3 cannot create a virtualenv, installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ ! -x "$BIN" ]; then
  cargo build --locked --bin consultores
fi

work="$(mktemp -d)"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="fuzz-$("$python" -c 'import secrets; print(secrets.token_hex(16))')"

env -i PATH="$PATH" DATABASE_URL="sqlite://$work/fuzz.db" AUTHENTICATION_API_KEY="$key" \
  HOST=127.0.0.1 PORT="$port" LOG_LEVEL=info \
  "$BIN" serve >"$work/service.log" 2>&1 &
service=$!
cleanup() {
  kill "$service" 2>/dev/null || true
  wait "$service" 2>/dev/null || true
  # Kept with the end-to-end tests' logs for scripts/check-secrets.sh.
  mkdir -p target/e2e-logs
  cp "$work/service.log" "target/e2e-logs/fuzz-service.jsonl" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 150); do
  if "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$service" 2>/dev/null; then
    echo "fuzz: the service did not start:" >&2
    cat "$work/service.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "fuzz: schemathesis $SCHEMATHESIS_VERSION against http://127.0.0.1:$port ($EXAMPLES examples per operation, seed $SEED)"
status=0
# From the scratch directory, so schemathesis's own cache (.schemathesis/) stays out of the tree.
root="$PWD"
(cd "$work" && "$root/$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "api-key: $key" \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 10 \
  --report junit --report-dir "$root/$REPORT_DIR" \
  --no-color) || status=$?

if ! kill -0 "$service" 2>/dev/null; then
  echo "fuzz: the service died during the run; its log:" >&2
  cat "$work/service.log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz: schemathesis found problems (exit $status); report in $REPORT_DIR" >&2
  exit "$status"
fi
if grep -qF "$key" "$work/service.log"; then
  echo "fuzz: the API key appeared in the service log" >&2
  exit 1
fi
echo "fuzz: no 5xx and no response outside the schema"
