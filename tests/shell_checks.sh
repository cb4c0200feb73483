# Sourced by the shell tests (tests/**/*_test.sh): their scratch space, pass/fail counters
# and the two kinds of check they all make. Each failing check prints one "FAIL: ..." line; the test ends with
# `((fail == 0))` so ctest sees the verdict.
pass=0
fail=0

# scratch_dir: sets $tmp to a new directory, removed when the test exits, and turns core
# dumps off (a crashing racesgd fails its check by its exit code; a sanitizer build's dump
# takes minutes).
scratch_dir() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  ulimit -c 0
}

# check "description" command...: passes when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

# expect_exit2 "description" "text the message must contain" command...: the command exits
# 2 with that text on stderr, under a 60 s timeout that also kills (an input that made the
# program spin must fail here, not hang the suite).
expect_exit2() {
  local what=$1 needle=$2
  shift 2
  local err rc
  err=$(timeout -k 5 60 "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -eq 2 && "$err" == *"$needle"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: exit $rc (want 2), message: $err (want it to contain: $needle)"
  fi
}
