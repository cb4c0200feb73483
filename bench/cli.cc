#include "bench/cli.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <optional>
#include <sstream>
#include <unistd.h>

#include <cxxopts.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "bench/error_report.h"
#include "core/durable_file.h"
#include "bench/params.h"
#include "core/error.h"

namespace racesgd {
namespace {

// A switch that is on unless turned off (--plot): it takes a --no-NAME form.
bool on_by_default(const ParamDef& d) { return d.is_flag && d.default_value == "true"; }

std::string help_text(const std::string& command, const std::string& summary,
                      const std::vector<ParamDef>& defs) {
  std::ostringstream os;
  os << "usage: racesgd " << command << " [options]\n\n" << summary << "\n";
  std::string group;
  for (const ParamDef& d : defs) {
    if (d.group != group) {
      group = d.group;
      os << "\n" << group << ":\n";
    }
    std::string flag = flag_text(d);
    if (!d.is_flag) flag += " " + (d.range.empty() ? std::string("VALUE") : d.range);
    if (on_by_default(d)) flag += ", --no-" + d.name;
    os << "  " << flag << "\n      " << d.help;
    if (!d.is_flag) os << " [default: " << (d.default_value.empty() ? "unset" : d.default_value) << "]";
    if (on_by_default(d)) os << " [default: on]";
    os << "\n";
  }
  os << "  -h, --help\n      print this help\n";
  os << "\ndurations: a number with unit h, min, s, ms, us or ns (1.5h, 90s, 5ms); \"m\" alone is\n"
        "rejected as ambiguous\n";
  return os.str();
}

/// Parses argv (after the subcommand) against the table. Throws InputError on unknown
/// options, missing or empty values, a flag given twice and stray words.
ParamValues parse_params(int argc, char** argv, const std::string& command,
                         const std::vector<ParamDef>& defs, bool* wants_help) {
  cxxopts::Options options("racesgd " + command);
  options.add_options()("h,help", "help");
  for (const ParamDef& d : defs) {
    auto value = cxxopts::value<std::string>();
    if (d.is_flag) value->implicit_value("true");
    options.add_options(d.group)(d.name, d.help, value);
  }
  // "--P 8" reads naturally next to "--variant"; cxxopts only knows one-letter names as
  // short options, so accept both spellings.
  std::vector<std::string> words(argv, argv + argc);
  for (std::string& w : words)
    for (const ParamDef& d : defs) {
      if (d.name.size() == 1 && (w == "--" + d.name || w.rfind("--" + d.name + "=", 0) == 0))
        w.erase(0, 1);
      if (on_by_default(d) && w == "--no-" + d.name) w = "--" + d.name + "=false";
    }
  std::vector<char*> args;
  for (std::string& w : words) args.push_back(w.data());
  cxxopts::ParseResult result;
  try {
    result = options.parse(static_cast<int>(args.size()), args.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw InputError(std::string(e.what()) + " (see racesgd " + command + " --help)");
  }
  if (!result.unmatched().empty())
    throw InputError("unexpected argument '" + result.unmatched().front() + "' (see racesgd " +
                     command + " --help)");
  *wants_help = result.count("help") > 0;
  ParamValues values(defs);
  for (const ParamDef& d : defs) {
    if (!result.count(d.name)) continue;
    // The last of two values would win silently: a typo in a long command line.
    if (result.count(d.name) > 1)
      throw InputError(flag_text(d) + ": given more than once" +
                       (on_by_default(d) ? " (with --no-" + d.name + " perhaps)" : ""));
    const std::string value = result[d.name].as<std::string>();
    // An empty value ("--time \"\"", an unset shell variable) would read as "not given"
    // and start a default run.
    if (value.empty() && !d.is_flag)
      throw InputError(flag_text(d) + ": empty value (give a value, or leave the flag out)");
    values.set(d.name, value);
  }
  return values;
}

/// The command's parameters from argv, or nullopt after printing its --help.
std::optional<ParamValues> params_or_help(int argc, char** argv, const std::string& command,
                                          const std::string& summary,
                                          const std::vector<ParamDef>& defs) {
  bool help = false;
  ParamValues values = parse_params(argc - 1, argv + 1, command, defs, &help);
  if (!help) return values;
  std::cout << help_text(command, summary, defs);
  return std::nullopt;
}

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // touched from a signal handler

struct Command {
  const char* name;
  const char* summary;  // the first line of its --help
  const std::vector<ParamDef>& (*params)();
  int (*run)(ParamValues& values);  // may move from values (race does)
};

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"train", "Train one model with one SGD variant.", train_params,
       [](ParamValues& v) { return train_command(v, &g_interrupted); }},
      {"race",
       "Race SGD variants on the same data, model, delays and seeds; summarise time to target "
       "error and plot error against time.",
       race_params, [](ParamValues& v) { return race_command(std::move(v), &g_interrupted); }},
      {"theory",
       "Predict E[T] per update, staleness and speed-up per variant (closed forms, numerical "
       "integration, renewal theory or Monte Carlo; each row says which; with Ringmaster's "
       "--max-staleness the async family by Monte Carlo).",
       theory_params, [](ParamValues& v) { return theory_command(v); }},
      {"fit",
       "Fit every delay family with a density to measured minibatch times by maximum "
       "likelihood, rank the fits by AIC with a Kolmogorov-Smirnov distance each, and print the "
       "best spec for --delay (docs/fit.md).",
       fit_params, [](ParamValues& v) { return fit_command(v); }},
      {"advise",
       "Recommend a variant for a delay (--delay, or fitted to --trace): theory for every "
       "variant and K, a virtual-clock race of the most promising, a ranking by time to "
       "--target-error with its reason (docs/advise.md).",
       advise_params, [](ParamValues& v) { return advise_command(v, &g_interrupted); }},
  };
  return list;
}

// First signal: stop the run cleanly (outputs are written, marked interrupted). A second
// one: the user insists, leave at once.
extern "C" void on_signal(int sig) {
  if (g_interrupted.exchange(true, std::memory_order_relaxed)) _exit(128 + sig);
}

const char* kUsage =
    "usage: racesgd <command> [options]\n\n"
    "racesgd: parameter-server SGD with stragglers and stale gradients on one machine.\n\n"
    "commands:\n"
    "  train   train one model with one SGD variant; writes curve.csv and summary.json\n"
    "  race    race several variants (repeated) and plot test error against wall-clock time\n"
    "  theory  predicted time per update, staleness and speed-up of each variant\n"
    "  fit     fit the delay models to measured minibatch times; prints the best --delay spec\n"
    "  advise  which variant to run for a delay: theory, a virtual-clock race, the reason\n\n"
    "Run 'racesgd <command> --help' for the options of a command, 'racesgd --version' for\n"
    "the version.\n";

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return kExitInputError;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << version_text() << "\n";
    return 0;
  }
  // Only train, race and advise have runs to stop cleanly; theory keeps the default (die at once).
  if (command == "train" || command == "race" || command == "advise") {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }
  try {
    for (const Command& c : commands())
      if (command == c.name) {
        std::optional<ParamValues> values = params_or_help(argc, argv, command, c.summary, c.params());
        return values ? c.run(*values) : 0;
      }
    std::cerr << "racesgd: unknown command '" << command << "'\n\n" << kUsage;
    return kExitInputError;
  } catch (...) {
    return report_current_error(command);
  }
}

}  // namespace racesgd
