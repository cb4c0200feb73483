#!/usr/bin/env bash
# The installed package, from the outside: `cmake --install` into a temporary prefix, then
#  - the layout (docs/library.md): bin/racesgd, the Python package (where built), the static libraries, the headers under
#    include/racesgd/<layer>/, the CMake package files, and no path into the source tree;
#  - the plot scripts under share/racesgd/plot, which the installed racesgd runs (also from a moved prefix);
#  - find_package(racesgd 0.2) + racesgd::sgd builds a one-file project, and
#    find_package(racesgd 0.1) and (0.3) are refused (SameMinorVersion);
#  - examples/custom_model configures, builds (-j2) and runs against the installed package:
#    its finite-difference gradient check, then a few hundred virtual-clock updates; its
#    racesgd_fm (the CLI with "fm" registered) trains fm, races it from a TOML file and
#    refuses a bad fm spec and an unknown model (listing fm) with exit 2.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR CXX_COMPILER
set -uo pipefail
build=$1
src=$2
cxx=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/shell_checks.sh"
prefix="$tmp/prefix"

# cmake_step NAME ARGS...: runs cmake ARGS with its output in $tmp/NAME.log, shown on failure.
cmake_step() {
  local name=$1
  shift
  if cmake "$@" > "$tmp/$name.log" 2>&1; then return 0; fi
  cat "$tmp/$name.log"
  return 1
}
# configure NAME SOURCE_DIR [-DVAR=VALUE...]: a Release Ninja build folder that sees the
# installed package only.
configure() {
  cmake_step "$1-configure" -S "$2" -B "$tmp/$1" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" "${@:3}"
}

# race_toml MODEL FILE: a tiny virtual-clock race of sync and async on the fixture.
race_toml() {
  cat > "$2" <<TOML
model = "$1"
data = "$src/tests/fixtures/mnist100-images-idx3-ubyte"
test-fraction = 0.3
batch = 8
P = 2
variants = ["sync", "async"]
repeats = 1
updates = 10
clock = "virtual"
progress = "off"
TOML
}

check "cmake --install" cmake_step install --install "$build" --prefix "$prefix"
libdir=$(ls -d "$prefix"/lib* | head -1)
check "installed: bin/racesgd runs" bash -c "'$prefix/bin/racesgd' --version | grep -q '^racesgd '"
for layer in core models delay sgd ps worker runtime bench; do
  check "installed: libracesgd_$layer.a" test -f "$libdir/libracesgd_$layer.a"
done
for header in sgd/variant.h bench/api.h models/model_registry.h models/model.h core/name_registry.h; do
  check "installed: include/racesgd/$header" test -f "$prefix/include/racesgd/$header"
done
check "installed: no benchmark headers" test ! -e "$prefix/include/racesgd/bench/micro"
for f in curve_plot.py plot_race.py plot_fit.py plot_advise.py plot_study.py plot_theory.py; do
  check "installed: share/racesgd/plot/$f" test -f "$prefix/share/racesgd/plot/$f"
done
# The installed racesgd runs the plot script installed beside it, not the source tree's,
# even after its prefix moved: the moved copy's plot_race.py is replaced by one that leaves
# a mark in the race's folder.
cp -r "$prefix" "$tmp/moved"
cat > "$tmp/moved/share/racesgd/plot/plot_race.py" <<'PY'
import pathlib, sys
pathlib.Path(sys.argv[1], "plotted-by-installed-copy").write_text("yes\n")
PY
race_toml softmax "$tmp/plot-race.toml"
if [[ -x /usr/bin/python3 ]]; then  # racesgd runs plot scripts with /usr/bin/python3
check "installed (moved prefix): race runs the plot script beside it" bash -c "cd '$tmp' &&
  '$tmp/moved/bin/racesgd' race --config '$tmp/plot-race.toml' --out '$tmp/plot-race' > '$tmp/plot-race.log' 2>&1 &&
  test -f '$tmp/plot-race/plotted-by-installed-copy' || { cat '$tmp/plot-race.log'; false; }"
fi
for f in racesgd-config.cmake racesgd-config-version.cmake racesgd-targets.cmake; do
  check "installed: $f" test -f "$libdir/cmake/racesgd/$f"
done
check "installed: the package names no source or build folder" \
  bash -c "! grep -rqF -e '$src/' -e '$build/' '$libdir/cmake/racesgd'"

# The Python package, where the build made it: installed under lib/python3/dist-packages,
# importable from there alone (run from $tmp: no repository folder on the path), and it
# trains a few virtual-clock updates on the fixture.
if [[ -d "$build/python/racesgd" ]]; then
  pydir=$(ls -d "$prefix"/lib*/python3/dist-packages | head -1)
  check "installed: the Python package" test -f "$pydir/racesgd/__init__.py"
  check "installed: import racesgd trains" bash -c "cd '$tmp' && PYTHONPATH='$pydir' /usr/bin/python3 -c \"
import racesgd
assert racesgd.__file__.startswith('$pydir'), racesgd.__file__
r = racesgd.train(data='$src/tests/fixtures/mnist100-images-idx3-ubyte', test_fraction=0.3,
                  batch=8, clock='virtual', updates=50, progress='off')
assert r.summary['updates'] == 50
\""
fi

# A one-file user of racesgd::sgd (the issue's example), and a version the package refuses.
mkdir -p "$tmp/sgd_user"
cat > "$tmp/sgd_user/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(sgd_user LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(racesgd ${WANT} REQUIRED)
add_executable(sgd_user main.cc)
target_link_libraries(sgd_user PRIVATE racesgd::sgd)
CMAKE
cat > "$tmp/sgd_user/main.cc" <<'CXX'
#include <cstdio>
#include "sgd/variant.h"
int main() {
  const racesgd::Variant v = racesgd::make_variant("k-async", 8, 2);
  std::printf("%s K=%zu\n", v.name.c_str(), v.K);
}
CXX
check "find_package(racesgd 0.2) + racesgd::sgd: configure" configure sgd_user "$tmp/sgd_user" -DWANT=0.2
check "find_package(racesgd 0.2) + racesgd::sgd: build" cmake_step sgd_user-build --build "$tmp/sgd_user" -j2
check "find_package(racesgd 0.2) + racesgd::sgd: run" bash -c "'$tmp/sgd_user/sgd_user' | grep -qx 'k-async K=2'"
# SameMinorVersion: 0.2.x only; 0.1 (older API) and 0.3 (newer) are refused.
for want in 0.1 0.3; do
  if configure "sgd_user_$want" "$tmp/sgd_user" -DWANT=$want > /dev/null; then
    fail=$((fail + 1)); echo "FAIL: find_package(racesgd $want) accepted the 0.2 package"
  else
    check "find_package(racesgd $want): refused, naming the version found" \
      grep -q 'version: 0\.2\.' "$tmp/sgd_user_$want-configure.log"
  fi
done

# The plug-in example, out of tree against the installed package.
check "examples/custom_model: configure" configure custom_model "$src/examples/custom_model"
check "examples/custom_model: build" cmake_step custom_model-build --build "$tmp/custom_model" -j2
out=$("$tmp/custom_model/custom_model" "$src/tests/fixtures/mnist100-images-idx3-ubyte" 300 2>&1)
rc=$?
echo "$out"
check "examples/custom_model: exits 0" test $rc -eq 0
check "examples/custom_model: gradient check printed" grep -q '^gradient check: largest relative error' <<< "$out"
check "examples/custom_model: trained fm for 300 updates" grep -q '^model fm:factors=4, .* updates after 300 updates' <<< "$out"
check "examples/custom_model: final test error printed" grep -Eq 'final test error [01]\.[0-9]{4}$' <<< "$out"
check "examples/custom_model: a bad --updates is exit 2" bash -c \
  "'$tmp/custom_model/custom_model' '$src/tests/fixtures/mnist100-images-idx3-ubyte' 0; test \$? -eq 2"

# The CLI with "fm" registered: train, race from an experiment file, the known-model list.
fm_cli=("$tmp/custom_model/racesgd_fm")
fx_data=(--data "$src/tests/fixtures/mnist100-images-idx3-ubyte" --test-fraction 0.3 --batch 8 --progress off)
check "racesgd_fm train --model fm:factors=2" bash -c "'${fm_cli[0]}' train ${fx_data[*]} --model fm:factors=2 \
  --clock virtual -P 2 --updates 20 --out '$tmp/fm-train' > '$tmp/fm-train.log' 2>&1 &&
  grep -q '\"model\": \"fm:factors=2\"' '$tmp/fm-train/summary.json' || { cat '$tmp/fm-train.log'; false; }"
race_toml fm:factors=2 "$tmp/fm-race.toml"
check "racesgd_fm race --config with model = fm" bash -c "'${fm_cli[0]}' race --config '$tmp/fm-race.toml' \
  --no-plot --out '$tmp/fm-race' > '$tmp/fm-race.log' 2>&1 &&
  grep -q 'fm:factors=2' '$tmp/fm-race/summary.json' || { cat '$tmp/fm-race.log'; false; }"
expect_exit2 "racesgd_fm: a bad fm spec names it" "model spec 'fm:factors=0': parameter 'factors' = 0 is out of range [1, 256]" "${fm_cli[0]}" train "${fx_data[@]}" \
  --model fm:factors=0 --clock virtual --updates 5 --out "$tmp/fm-bad"
expect_exit2 "racesgd_fm: an unknown model lists fm" "known: fm, logistic, mlp, softmax" "${fm_cli[0]}" \
  train "${fx_data[@]}" --model fn --clock virtual --updates 5 --out "$tmp/fm-bad"

echo "$pass passed, $fail failed"
((fail == 0))
