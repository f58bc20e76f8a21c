#!/usr/bin/env bash
# Brings ONNX Runtime into standard paths so that plain `swift build` / `swift test` find it through
# pkg-config `libonnxruntime` (no environment variables). Idempotent and quiet.
#
# - If the system already has it (`pkg-config --exists libonnxruntime`), nothing is installed.
# - Otherwise: the library from the PyPI wheel onnxruntime==1.32.0 (verified by sha256), the C headers
#   from Debian 13's libonnxruntime-dev (fetched with a private apt configuration that reuses the
#   mirror of this system's own apt sources; apt verifies it against the signed index), installed into
#   /usr/local/lib and /usr/local/include/onnxruntime with a pkg-config file, then `ldconfig`.
# - Always: the wheel's small test models (onnxruntime/datasets/*.onnx) are kept in
#   ${S2M3_CACHE:-<repo>/.cache}/onnxruntime-datasets for the engine's tests.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
cache="${S2M3_CACHE:-$repo/.cache}"
wheels="$cache/wheels"
datasets="$cache/onnxruntime-datasets"
ort_version=1.32.0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
pip=(pip); command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)

# sha256 of the wheel per machine architecture (PyPI, cp311 manylinux_2_28).
case "$(uname -m)" in
  x86_64) platform=manylinux_2_28_x86_64
          wheel_sha256=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d ;;
  *) fail "installing ONNX Runtime" "this set-up pins the x86_64 wheel only; this machine is $(uname -m)" \
       "install ONNX Runtime with a pkg-config file named libonnxruntime (e.g. your distribution's libonnxruntime-dev), then run scripts/setup.sh again" ;;
esac
wheel="$wheels/onnxruntime-$ort_version-cp311-cp311-$platform.whl"

fetch_wheel() {
  if [ ! -f "$wheel" ]; then
    mkdir -p "$wheels"
    need_pypi
    try "downloading onnxruntime==$ort_version from PyPI" "run scripts/setup.sh again once PyPI answers" \
      "${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 --platform "$platform" \
      "onnxruntime==$ort_version" -d "$wheels"
  fi
  echo "$wheel_sha256  $wheel" | sha256sum --check --quiet --status \
    || fail "checking $wheel" "its sha256 is not the pinned $wheel_sha256 (a broken or altered download)" \
      "rm '$wheel' && scripts/setup.sh"
}

# The mirror URI this system's apt already uses for the Debian archive (never hard-coded here).
debian_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/*.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($i !~ /security/) { print $i; exit } else break } }' \
      /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || fail "finding this system's Debian mirror for ONNX Runtime's C headers" \
    "no Debian archive URI in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources" \
    "install ONNX Runtime with a pkg-config file named libonnxruntime yourself, then run scripts/setup.sh again"
  echo "$uri"
}

# C headers of ONNX Runtime (API 21, served by newer runtimes) from trixie's libonnxruntime-dev,
# without touching the system's apt state.
fetch_headers() {
  local apt_dir="$cache/apt-trixie" deb
  deb="$(ls "$apt_dir"/debs/libonnxruntime-dev_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main" \
      >"$apt_dir/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Acquire::Languages=none
      -o APT::Sandbox::User=root -qq)
    local fix="check that this machine reaches its Debian mirror ($(debian_mirror)), then run scripts/setup.sh again"
    try "reading Debian 13's package index (for ONNX Runtime's C headers)" "$fix" apt-get "${opts[@]}" update
    try "downloading Debian 13's libonnxruntime-dev (ONNX Runtime's C headers)" "$fix" \
      bash -c 'cd "$1" && shift && apt-get "$@" download libonnxruntime-dev' _ "$apt_dir/debs" "${opts[@]}"
    rm -rf "$apt_dir/lists" "$apt_dir/cache"
    deb="$(ls "$apt_dir"/debs/libonnxruntime-dev_*.deb | head -n1)"
  fi
  local unpacked="$apt_dir/unpacked"
  rm -rf "$unpacked"; dpkg-deb -x "$deb" "$unpacked"
  header_dir="$(dirname "$(find "$unpacked" -name onnxruntime_c_api.h | head -n1)")"
  [ -f "$header_dir/onnxruntime_c_api.h" ] || fail "unpacking ONNX Runtime's C headers" "no onnxruntime_c_api.h in $deb" \
    "rm -rf '$apt_dir' && scripts/setup.sh"
}

install_ort() {
  fetch_wheel
  fetch_headers
  local tmp; tmp="$(mktemp -d)"
  unzip -q -o "$wheel" "onnxruntime/capi/libonnxruntime.so.$ort_version" -d "$tmp"
  $sudo install -D -m 0755 "$tmp/onnxruntime/capi/libonnxruntime.so.$ort_version" \
    "/usr/local/lib/libonnxruntime.so.$ort_version"
  $sudo ln -sf "libonnxruntime.so.$ort_version" /usr/local/lib/libonnxruntime.so.1
  $sudo ln -sf "libonnxruntime.so.1" /usr/local/lib/libonnxruntime.so
  $sudo mkdir -p /usr/local/include/onnxruntime /usr/local/lib/pkgconfig
  $sudo cp "$header_dir"/*.h /usr/local/include/onnxruntime/
  $sudo tee /usr/local/lib/pkgconfig/libonnxruntime.pc >/dev/null <<PC
prefix=/usr/local
libdir=\${prefix}/lib
includedir=\${prefix}/include/onnxruntime

Name: libonnxruntime
Description: ONNX Runtime (library from the PyPI wheel, C headers from Debian libonnxruntime-dev)
Version: $ort_version
Libs: -L\${libdir} -lonnxruntime
Cflags: -I\${includedir}
PC
  $sudo ldconfig
  rm -rf "$tmp" "$cache/apt-trixie/unpacked"
  echo "setup: installed ONNX Runtime $ort_version into /usr/local"
}

pkg-config --exists libonnxruntime || install_ort

# Small real models for the engine's tests.
if [ ! -f "$datasets/mul_1.onnx" ]; then
  fetch_wheel
  tmp="$(mktemp -d)"
  unzip -q -o "$wheel" 'onnxruntime/datasets/*.onnx' -d "$tmp"
  mkdir -p "$datasets"
  cp "$tmp"/onnxruntime/datasets/*.onnx "$datasets/"
  rm -rf "$tmp"
fi
