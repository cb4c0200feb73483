#include "bench/api.h"

#include <set>

#include "bench/params.h"
#include "core/error.h"

namespace racesgd {

ExperimentConfig make_train_config(const TrainFlags& flags) {
  ParamValues values(train_params());
  std::set<std::string> seen;
  for (const auto& [name, value] : flags) {
    if (!seen.insert(name).second)
      throw InputError(flag_text(train_params(), name) + ": given more than once");
    values.set(name, value);
  }
  return parse_experiment(values);
}

RunOutput train(const ExperimentConfig& cfg, const TrainHooks& hooks) {
  return train(cfg, prepare_data(cfg), hooks);
}

RunOutput train(const ExperimentConfig& cfg, const PreparedData& data, const TrainHooks& hooks) {
  return run_experiment(cfg, data, hooks.progress, hooks.stop, hooks.resume, hooks.learners);
}

}  // namespace racesgd
