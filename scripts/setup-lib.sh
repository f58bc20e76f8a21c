# Shared by scripts/setup.sh and scripts/setup.d/*.sh (sourced, not run): failures a new user can act
# on. Every failure says what failed, why (the tool's own last lines), and the one command that fixes
# or bypasses it.

# fail WHAT WHY FIX: prints the three and exits 1.
fail() {
  {
    echo "setup: FAILED: $1"
    [ -z "$2" ] || printf '  why: %s\n' "$2"
    echo "  fix: $3"
  } >&2
  exit 1
}

# try WHAT FIX COMMAND…: runs COMMAND quietly; on failure fails with its last lines of output as why.
try() {
  local what="$1" fix="$2" log rc=0
  shift 2
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    local why
    why="$(grep -v '^\s*$' "$log" | tail -n 4 | sed 's/^/       /' | sed '1s/^ *//')"
    rm -f "$log"
    fail "$what (exit $rc)" "$why" "$fix"
  fi
  rm -f "$log"
}

setup_pip() { if command -v pip >/dev/null 2>&1; then echo pip; else echo "python3 -m pip"; fi; }

# need_pypi: before the first download from PyPI, checks within seconds that pip's index answers, so
# that a machine without network is told so at once instead of after a long time-out.
need_pypi() {
  [ "${S2M3_SETUP_PYPI_OK:-0}" = 1 ] && return 0
  local out
  # pip's own index URL (PIP_INDEX_URL, pip.conf or pip's default), asked for its pip page.
  if ! out="$(python3 - 2>&1 <<'PY'
import os, subprocess, sys, urllib.request
url = os.environ.get("PIP_INDEX_URL") or subprocess.run(
    [sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True).stdout.strip()
if not url:
    from pip._internal.models.index import PyPI
    url = PyPI.simple_url
try:
    urllib.request.urlopen(url.rstrip("/") + "/pip/", timeout=8).read(1)
except Exception as e:
    sys.exit(f"{url} did not answer: {getattr(e, 'reason', e)}")
PY
)"; then
    fail "cannot reach PyPI, and the first set-up downloads about 0.5 GB of packages from it" "$out" \
      "connect this machine to PyPI (or point PIP_INDEX_URL at a PyPI mirror you can reach) and run scripts/setup.sh again; or reuse a cache set up elsewhere: S2M3_CACHE=/path/to/that/.cache scripts/setup.sh"
  fi
  export S2M3_SETUP_PYPI_OK=1
}

# need_space DIR GIB: fails unless DIR's file system has GIB GiB free.
need_space() {
  mkdir -p "$1"
  local free_kb
  free_kb="$(df -Pk "$1" | awk 'NR == 2 { print $4 }')"
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $(($2 * 1024 * 1024)) ]; then
    fail "not enough disk space in $1 for the set-up" "$((free_kb / 1024)) MiB free, about $2 GiB needed" \
      "free space there, or set up on another disk: S2M3_CACHE=/other/disk/s2m3-cache scripts/setup.sh"
  fi
}
