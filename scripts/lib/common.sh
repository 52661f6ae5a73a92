# Shared by scripts/test and scripts/study: Debian packages, stage timing.
# shellcheck shell=bash

SOFTLAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Installs the Debian packages given as arguments that are missing: with apt-get when root,
# otherwise prints the exact command and exits non-zero.
ensure_packages() {
  local missing=()
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "packages: all ${#} present"
    return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "softlab needs these Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
}

# The packages every build needs (compilers, CMake, the library's and the tests' dependencies).
SOFTLAB_BUILD_PACKAGES=(cmake ninja-build g++ clang binutils libboost-dev libxsimd-dev
  libmpfr-dev libgmp-dev catch2 libcli11-dev libbenchmark-dev)

# The peers (libtorch, oneDNN, XNNPACK; pthreadpool for xnnpack.h) and the report's Python (with
# pytest for the report scripts' unit tests, tests/scripts).
SOFTLAB_PEER_PACKAGES=(libtorch-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev)
SOFTLAB_REPORT_PACKAGES=(python3-numpy python3-matplotlib python3-pytest)

STAGE_NAME=""
STAGE_START=0
STAGE_REPORT=()
stage() {
  stage_end
  STAGE_NAME=$1
  STAGE_START=$(date +%s)
  echo
  echo "==> $STAGE_NAME"
}
stage_end() {
  if [ -n "$STAGE_NAME" ]; then
    local seconds=$(($(date +%s) - STAGE_START))
    echo "<== $STAGE_NAME: ${seconds} s"
    STAGE_REPORT+=("$(printf '%-40s %5d s' "$STAGE_NAME" "$seconds")")
    STAGE_NAME=""
  fi
}
stage_summary() {
  stage_end
  echo
  echo "time per stage:"
  printf '  %s\n' "${STAGE_REPORT[@]}"
}
