# Time limits of the test suite (docs/reliability.md, "The test suite: jobs, limits, times").
#
# Every ctest test has one base limit, for a plain (release) build. A sanitizer build
# (RACESGD_SANITIZE=thread|address) multiplies it by RACESGD_SANITIZER_TIME_FACTOR: the
# one multiplier, so no limit is tuned to one machine's speed under one sanitizer.
# Multiplying alone would not be enough (ASan runs the training loop ~20x slower), so the
# long-running tests also scale their WORK down under a sanitizer: the C++ stress tests at
# compile time (tests/ps/stress_scale.h), the shell tests from the RACESGD_SANITIZE
# environment variable that racesgd_test_limits() hands them (tests/bench/kill9_test.sh).
# The rule the limits are checked against: every test's time measured on the 2-core CI
# machine, under load, is at most a third of its limit, so a machine 2-3x slower passes.
set(RACESGD_SANITIZER_TIME_FACTOR 3 CACHE STRING
    "Multiplier on every test's time limit in a sanitizer build (RACESGD_SANITIZE set)")
if(NOT RACESGD_SANITIZER_TIME_FACTOR MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "RACESGD_SANITIZER_TIME_FACTOR must be a positive integer, got "
                      "'${RACESGD_SANITIZER_TIME_FACTOR}'")
endif()
if(RACESGD_SANITIZE STREQUAL "")
  set(RACESGD_TEST_TIME_FACTOR 1)
else()
  set(RACESGD_TEST_TIME_FACTOR ${RACESGD_SANITIZER_TIME_FACTOR})
endif()

# Base limit of each Catch2 test case (all take under a second in release, ~20 s at most
# under ASan): a hang guard, so a deadlock fails its test instead of eating CI's budget.
set(RACESGD_CATCH_TIMEOUT_BASE 100)

# racesgd_timeout(OUT BASE_SECONDS): BASE_SECONDS scaled for this build.
function(racesgd_timeout out base)
  math(EXPR seconds "${base} * ${RACESGD_TEST_TIME_FACTOR}")
  set(${out} ${seconds} PARENT_SCOPE)
endfunction()

# racesgd_test_limits(TEST BASE_SECONDS): the test's scaled TIMEOUT, and RACESGD_SANITIZE
# in its environment so a script can scale its work ('' in a plain build).
function(racesgd_test_limits test base)
  racesgd_timeout(seconds ${base})
  set_tests_properties(${test} PROPERTIES TIMEOUT ${seconds}
                       ENVIRONMENT "RACESGD_SANITIZE=${RACESGD_SANITIZE}")
endfunction()
