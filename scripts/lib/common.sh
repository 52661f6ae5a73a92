# Shared by scripts/test and scripts/study: Debian packages, stage timing.
# shellcheck shell=bash
# The variables below are read by the scripts that source this file:
# shellcheck disable=SC2034

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
# GCC's OpenMP runtime, libgomp (softmax_rows across threads, with g++ and clang++ alike), comes
# with g++: its libgcc-12-dev holds libgomp.so; libomp-dev (LLVM's runtime) is not wanted.
# libclang-rt-14-dev holds libFuzzer (tests/fuzz, -fsanitize=fuzzer) and the sanitizer runtimes:
# clang only recommends it, and ensure_packages installs without recommends.
SOFTLAB_BUILD_PACKAGES=(cmake ninja-build g++ clang libclang-rt-14-dev binutils pkgconf
  libboost-dev libxsimd-dev libmpfr-dev libgmp-dev catch2 libcli11-dev libbenchmark-dev)

# The peers (libtorch, oneDNN, XNNPACK, SLEEF, Highway, Eigen; pthreadpool for xnnpack.h) and the report's Python (with
# pytest for the report scripts' unit tests, tests/scripts). libopenblas0-openmp: Debian's
# libtorch computes matmul on whatever libblas.so.3 the alternatives system points at, the
# reference BLAS by default (1 GFLOP/s on a 1024^3 matmul on Zen 3; OpenBLAS: 23); installing
# OpenBLAS (its OpenMP build, the runtime libtorch and oneDNN use) makes it the alternative, so
# the attention peers are measured on the BLAS their users would have.
SOFTLAB_PEER_PACKAGES=(libtorch-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev libsleef-dev
  libhwy-dev libeigen3-dev libopenblas0-openmp)
SOFTLAB_REPORT_PACKAGES=(python3-numpy python3-matplotlib python3-pytest)
# The Python module (python/, built by the dev preset, tested by ctest's python label): pybind11
# and Python's headers to build it, Hypothesis, SciPy and PyTorch's Python package for its tests,
# venv for the documented install (a test does it).
SOFTLAB_PYTHON_PACKAGES=(pybind11-dev python3-pybind11 python3-dev python3-hypothesis
  python3-scipy python3-torch python3-venv)
# What scripts/test checks the tree with besides the compilers.
SOFTLAB_CHECK_PACKAGES=(clang-format shellcheck)

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

# The tree's own files, tracked by git (a clean clone) or, outside a checkout, found on disk.
tracked_files() {
  if git -C "$SOFTLAB_ROOT" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git -C "$SOFTLAB_ROOT" ls-files -- "$@"
  else
    (cd "$SOFTLAB_ROOT" && for pattern in "$@"; do find . -path "./build" -prune -o -path "./$pattern" -print; done | sed 's|^\./||')
  fi
}

# Fails on any C++ file of ours that clang-format (the repository's .clang-format) would change.
check_formatting() {
  local files
  mapfile -t files < <(tracked_files '*.cpp' '*.hpp')
  if ! clang-format --dry-run --Werror "${files[@]}"; then
    echo "clang-format would change the files above: run clang-format -i on them" >&2
    return 1
  fi
  echo "clang-format: ${#files[@]} files formatted"
}

# Fails on any shell script that shellcheck flags (following the files they source).
check_shell_scripts() {
  local scripts=()
  local file
  while IFS= read -r file; do
    if head -n 1 "$file" | grep -q -E '^#!.*\b(bash|sh)\b' || [[ $file == *.sh ]]; then
      scripts+=("$file")
    fi
  done < <(tracked_files 'scripts/*' '.ci/*')
  shellcheck -x "${scripts[@]}"
  echo "shellcheck: ${#scripts[@]} scripts clean"
}
