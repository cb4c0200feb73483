#include "bench/summary.h"

#include <chrono>

#include "bench/time_to_target.h"
#include "core/cpu_time.h"

namespace racesgd {

namespace {
nlohmann::json failed_learners(const std::vector<LearnerFailure>& failures) {
  nlohmann::json out = nlohmann::json::array();
  for (const LearnerFailure& f : failures)
    out.push_back({{"learner", f.learner}, {"error", f.what}, {"time_s", f.time_s}});
  return out;
}

nlohmann::json per_learner(const std::vector<StalenessTracker::PerLearner>& learners) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t w = 0; w < learners.size(); ++w) {
    const auto& p = learners[w];
    const double staleness_mean =
        p.applied ? p.staleness_sum / static_cast<double>(p.applied) : 0.0;
    out.push_back({{"learner", w},
                   {"applied", p.applied},
                   {"cancelled", p.cancelled},
                   {"staleness_mean", staleness_mean},
                   {"staleness_max", p.staleness_max},
                   {"idle_s", p.idle_seconds}});
  }
  return out;
}

nlohmann::json data_facts(const PreparedData& data) {
  const Dataset& train = data.data.train;
  const Dataset& test = data.data.test;
  return {{"train", train.name},
          {"test", test.name},
          {"train_samples", train.size()},
          {"test_samples", test.size()},
          {"features", train.dim()},
          {"classes", train.num_classes},
          {"format", data.info.format},
          {"scaling", data.info.scaling},
          {"label_map", data.info.label_map}};
}

}  // namespace

nlohmann::json summarize(const RunResult& r, const ExperimentConfig& cfg,
                         const PreparedData& data, const RunDescription& d) {
  nlohmann::json s;
  s["variant"] = cfg.variant;
  s["P"] = cfg.P;
  s["K"] = d.K;
  // Ringmaster's R, where set: a run without it reads as before.
  if (cfg.max_staleness > 0) s["max_staleness"] = cfg.max_staleness;
  // AdaSync: the schedule, and when K grew (the first entry is the start, at K0 and F(w_0)).
  if (cfg.k_schedule.adaptive()) {
    s["k_schedule"] = to_string(cfg.k_schedule);
    nlohmann::json changes = nlohmann::json::array();
    for (const KChange& c : r.k_changes)
      changes.push_back({{"time_s", c.time_s}, {"update", c.update}, {"loss", c.loss}, {"K", c.K}});
    s["k_changes"] = changes;
    s["final_K"] = r.k_changes.empty() ? d.K : r.k_changes.back().K;
  }
  s["delay"] = d.delay;
  s["model"] = d.model;
  s["num_params"] = d.num_params;
  s["clock"] = cfg.clock;
  s["seed"] = cfg.seed;
  s["stop_reason"] = std::string(to_string(r.stop_reason));
  s["timing_only"] = cfg.timing_only;
  if (!r.error.empty()) s["error"] = r.error;
  s["interrupted"] = r.stop_reason == StopReason::interrupted;
  s["failed_learners"] = failed_learners(r.failures);
  if (!r.failures.empty() && cfg.continue_on_learner_failure)
    s["note"] = "continued with " + std::to_string(cfg.P - r.failures.size()) + " of " +
                std::to_string(cfg.P) + " learners after failures";
  s["updates"] = r.updates;
  s["run_time_s"] = r.run_time_s;
  s["wall_time_s"] = r.wall_time_s;
  // This process's CPU time so far, all threads (over MPI: rank 0's, the PS and its
  // communication thread). 0 when the system cannot say.
  s["process_cpu_s"] =
      std::chrono::duration<double>(process_cpu_time().value_or(std::chrono::nanoseconds::zero())).count();
  s["eval_time_s"] = r.eval_time_s;
  s["mean_update_interval_s"] = r.mean_update_interval_s();
  s["staleness_mean"] = r.staleness_mean;
  s["staleness_max"] = r.staleness_max;
  s["p0"] = r.p0;
  s["staleness_histogram"] = r.staleness_histogram;
  if (r.clock_spread_samples > 0)  // ssp: how far apart the learners' minibatch counts ran
    s["clock_spread"] = {{"mean", r.clock_spread_mean}, {"max", r.clock_spread_max}};
  s["gradients_applied"] = r.gradients_applied;
  s["gradients_cancelled"] = r.gradients_cancelled;
  s["mean_lr"] = r.mean_lr;
  s["delay_drawn_mean_s"] = r.delay_drawn_mean_s;
  s["delay_served_mean_s"] = r.delay_served_mean_s;
  s["compute_mean_s"] = r.compute_mean_s;
  s["compute_exceeded_delay"] = r.compute_exceeded_delay;
  if (cfg.clock == "real") {
    s["compute_at"] = std::string(to_string(cfg.compute_at));
    const double timed = static_cast<double>(r.compute_timed);
    s["compute_late"] = {{"gradients", r.compute_timed},
                         {"late", r.compute_late},
                         {"late_fraction", r.compute_timed ? static_cast<double>(r.compute_late) / timed : 0.0},
                         {"late_mean_s", r.compute_late_mean_s},
                         {"late_p99_s", r.compute_late_p99_s}};
    s["push_lag"] = {{"mean_s", r.push_lag_mean_s}, {"max_s", r.push_lag_max_s}};
    // null when the machine's counters could not be read (not Linux's /proc/stat).
    s["host_steal_fraction"] = r.host_steal_fraction ? nlohmann::json(*r.host_steal_fraction) : nlohmann::json();
  }
  const std::string contention = contention_warning(r, cfg.clock);
  if (!contention.empty()) s["contention_warning"] = contention;
  if (!r.curve.empty() && !cfg.timing_only) {
    s["final_test_error"] = r.curve.back().test_error;
    s["final_train_loss"] = r.curve.back().train_loss;
  }
  if (cfg.stop.target_error >= 0) {
    const TimeToTarget t = time_to_target(r.curve, cfg.stop.target_error);
    s["target_error"] = cfg.stop.target_error;
    s["time_to_target_s"] = t.reached() ? nlohmann::json(t.time_s) : nlohmann::json(nullptr);
    // The gap between the evaluation points that bracket the crossing (bench/time_to_target.h).
    s["time_to_target_resolution_s"] =
        t.reached() ? nlohmann::json(t.resolution_s) : nlohmann::json(nullptr);
  }
  s["per_learner"] = per_learner(r.per_learner);
  s["data"] = data_facts(data);
  s["lr_schedule"] = d.lr_schedule;
  s["config"] = cfg.raw;
  s["context"] = d.context;
  return s;
}

}  // namespace racesgd
