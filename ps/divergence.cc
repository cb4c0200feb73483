#include "ps/divergence.h"

#include "core/units.h"

namespace racesgd {

std::string likely_divergence_cause(const Divergence& d, const DivergenceSuspects& s) {
  // Gradient descent on the L2 term alone multiplies the weights by (1 - lr l2) per step:
  // past lr l2 = 1 it flips their sign, past 2 it grows them, whatever the data.
  if (s.l2 > 0 && d.lr * s.l2 > 1)
    return "--l2 " + format_number(s.l2) + " with lr " + format_number(d.lr) + " (lr x l2 = " + format_number(d.lr * s.l2) +
           " > 1: the L2 term alone overshoots every step); use --l2 below " +
           format_number(1.0 / d.lr) + " or a smaller --lr";
  if (s.max_abs_feature > 100)
    return "the data: features up to " + format_number(s.max_abs_feature) + " in magnitude (--scale " +
           (s.scaling.empty() ? std::string("none") : s.scaling) +
           ") make the gradients huge; scale them (--scale max or standard)";
  if (d.staleness >= 2 || s.staleness_mean >= 1)
    return "stale gradients with lr " + format_number(d.lr) + " (the breaking one was " +
           std::to_string(d.staleness) + " updates old, mean staleness " +
           format_number(s.staleness_mean) +
           "); try a smaller --lr, a staleness-aware --lr-schedule, or a larger K";
  return "--lr " + format_number(d.lr) + " is too large for this model and data; try a smaller --lr";
}

}  // namespace racesgd
