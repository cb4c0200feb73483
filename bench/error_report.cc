#include "bench/error_report.h"

#include <iostream>
#include <exception>
#include <new>

#include "core/durable_file.h"
#include "core/error.h"

namespace racesgd {

int report_current_error(const std::string& command) {
  try {
    throw;
  } catch (const InputError& e) {
    std::cerr << "racesgd " << command << ": error: " << e.what() << "\n";
    return kExitInputError;
  } catch (const WriteError& e) {
    std::cerr << "racesgd " << command << ": cannot write the outputs: " << e.what() << "\n";
    return 1;
  } catch (const RunError& e) {
    std::cerr << "racesgd " << command << ": run failed: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {  // never an abort: the run checks memory, this is the rest
    std::cerr << "racesgd " << command
              << ": out of memory (try a smaller model, fewer learners or --snapshot-memory)\n";
    return 1;
  } catch (const std::exception& e) {  // a library's error nothing translated: never an abort
    std::cerr << "racesgd " << command << ": failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace racesgd
