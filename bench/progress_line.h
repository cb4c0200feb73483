// A live one-line progress display on stderr (updates, elapsed, latest error), shown
// when stderr is a terminal (or forced on); silent otherwise.
#pragma once

#include <string>

#include "runtime/run_inputs.h"

namespace racesgd {

class ProgressLine {
 public:
  /// mode: "auto" | "on" | "off".
  ProgressLine(const std::string& mode, std::string label);
  /// The callback to hand to a run (empty when the display is off).
  ProgressFn callback();
  /// Sets a prefix such as "run 3/18" (race).
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
  /// What the error field shows while no test error has been scored yet (default "-"). A
  /// real-clock run scores its snapshots after the run (unless --target-error asks for
  /// online checks), so it says so instead of "-" the whole run.
  void set_unscored_text(std::string text) { unscored_ = std::move(text); }
  /// Ends the line.
  void finish();

 private:
  bool on_;
  bool drawn_ = false;
  std::string label_;
  std::string prefix_;
  std::string unscored_ = "-";
};

}  // namespace racesgd
