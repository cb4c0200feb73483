// The racesgd command line with the "fm" model added: `racesgd_fm train --model fm:factors=8
// ...`, `racesgd_fm race --config study.toml` with `model = "fm:factors=8"`, and "fm" in the
// list an unknown --model prints. The whole CLI is racesgd::cli's run_cli; a plug-in only
// has to be registered before it runs.
#include <cstdio>

#include "bench/cli.h"
#include "core/error.h"
#include "factorization_machine.h"

int main(int argc, char** argv) {
  try {
    fm_example::register_fm();
  } catch (const racesgd::InputError& e) {
    std::fprintf(stderr, "racesgd_fm: %s\n", e.what());
    return racesgd::kExitInputError;
  }
  return racesgd::run_cli(argc, argv);
}
