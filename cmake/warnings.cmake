# racesgd::warnings — the project's warning set, an INTERFACE target every library links.
add_library(racesgd_warnings INTERFACE)
add_library(racesgd::warnings ALIAS racesgd_warnings)
target_compile_options(racesgd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports a false -Wrestrict inside libstdc++ string code at -O3 (seen with cxxopts).
  target_compile_options(racesgd_warnings INTERFACE -Wno-restrict)
endif()

# racesgd::options — code generation flags shared by every target.
add_library(racesgd_options INTERFACE)
add_library(racesgd::options ALIAS racesgd_options)
if(RACESGD_NATIVE AND NOT RACESGD_SANITIZE)
  target_compile_options(racesgd_options INTERFACE -march=native)
endif()
# Learners are our threads: Eigen must never start its own (no OpenMP, no Eigen thread pool).
target_compile_definitions(racesgd_options INTERFACE EIGEN_DONT_PARALLELIZE
  RACESGD_BUILD_TYPE="${CMAKE_BUILD_TYPE}")
