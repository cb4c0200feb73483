// Small statistics for race summaries: mean, sample standard deviation and a 95%
// confidence half-width (Student t) over repeats.
#pragma once

#include <cstddef>
#include <vector>

namespace racesgd {

struct SampleStats {
  std::size_t n = 0;
  double mean = 0;
  double sd = 0;        // sample standard deviation (0 when n < 2)
  double ci95 = 0;      // half-width of the 95% confidence interval of the mean (0 when n < 2)
  double min = 0, max = 0;
};

SampleStats sample_stats(const std::vector<double>& xs);

/// The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1).
double t_quantile_975(std::size_t df);

}  // namespace racesgd
