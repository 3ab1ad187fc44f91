#!/usr/bin/env bash
# Searches every log line the test suite's services wrote (target/e2e-logs, filled by the
# end-to-end tests and scripts/fuzz.sh) for key material: the test API keys, any generated key
# (prefix csk_), any outbound webhook secret (prefix whsec_) and the Pipedrive tokens the tests
# configure. Fails if one appears, or if there are no logs to search (a check of nothing proves
# nothing). The suite's run with LOG_BODIES=true (tests/tests/pipedrive.rs) creates keys over the
# API, so a key answered in a logged body would be found here.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/e2e-logs
files=$(find "$dir" -type f 2>/dev/null | wc -l)
lines=$(cat "$dir"/* 2>/dev/null | grep -c '"request_id"' || true)
if [ "$files" -eq 0 ] || [ "$lines" -lt 100 ]; then
  echo "check-secrets: expected the suite's service logs in $dir, found $files files / $lines request lines" >&2
  exit 1
fi
secrets=(-e 'e2e-chave-de-teste' -e 'csk_' -e 'whsec_' -e 'fuzz-[0-9a-f]\{32\}')
# Pipedrive tokens configured by the tests (PIPEDRIVE_API_TOKEN values in the test sources).
while IFS= read -r token; do
  [ -n "$token" ] && secrets+=(-e "$token")
done < <(grep -rhoE 'PIPEDRIVE_TEST_TOKEN[A-Z_]*: &str = "[^"]+"' crates tests 2>/dev/null | sed -E 's/.*"([^"]+)"/\1/' | sort -u)
if grep -rn "${secrets[@]}" "$dir"; then
  echo "check-secrets: key material found in the log lines above" >&2
  exit 1
fi
echo "check-secrets: $files service logs, $lines request lines, no key material"
