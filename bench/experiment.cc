#include "bench/experiment.h"

#include <cmath>
#include <iostream>
#include <limits>

#include "bench/context.h"
#include "bench/format.h"
#include "bench/summary.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/units.h"
#include "models/eigen_setup.h"
#include "models/model_registry.h"
#include "runtime/checkpoint.h"
#include "ps/divergence.h"
#include "sgd/compensation.h"
#include "sgd/k_schedule.h"
#include "sgd/lr_schedule.h"
#include "runtime/real_runtime.h"
#include "runtime/run_memory.h"
#include "sgd/variant.h"
#include "runtime/virtual_runtime.h"
#include "delay/delay_model.h"

namespace racesgd {
namespace {

#ifdef RACESGD_HAVE_MPI
constexpr bool kBuiltWithMpi = true;
#else
constexpr bool kBuiltWithMpi = false;
#endif

std::size_t to_size(const ParamValues& v, const std::string& name, long long min) {
  const std::string flag = flag_text(v.defs(), name);
  const long long x = parse_int(v.get(name), flag);
  if (x < min)
    throw InputError(flag + ": " + v.get(name) + " must be at least " + std::to_string(min));
  return static_cast<std::size_t>(x);
}

double to_double(const ParamValues& v, const std::string& name) {
  return parse_double(v.get(name), flag_text(v.defs(), name));
}

std::string one_of(const ParamValues& v, const std::string& name,
                   std::initializer_list<const char*> allowed) {
  const std::string& x = v.get(name);
  std::string list;
  for (const char* a : allowed) {
    if (x == a) return x;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw InputError(flag_text(v.defs(), name) + ": '" + x + "' is not one of " + list);
}

}  // namespace

ExperimentConfig parse_experiment(const ParamValues& v) {
  ExperimentConfig c;
  c.data.source = v.get("data");
  c.data.format = v.get("format");
  c.data.data_dir = v.get("data-dir");
  c.data.test_path = v.get("test-data");
  c.data.test_fraction = to_double(v, "test-fraction");
  if (!(c.data.test_fraction > 0 && c.data.test_fraction < 1))
    throw InputError("--test-fraction: " + v.get("test-fraction") + " must lie in (0, 1)");
  c.data.label_column = v.get("label-column");
  c.data.scaling = v.get("scale");
  c.data.binary = v.get("binary");
  c.data.max_train = static_cast<std::int64_t>(to_size(v, "max-train", 0));
  c.data.max_test = static_cast<std::int64_t>(to_size(v, "max-test", 0));

  c.model = v.get("model");
  c.l2 = to_double(v, "l2");
  if (c.l2 < 0) throw InputError("--l2: " + v.get("l2") + " must be >= 0");
  c.batch = to_size(v, "batch", 1);
  c.variant = v.get("variant");
  // --variant ssp --staleness-bound S is ssp:S=S. (A checkpoint's saved configuration gives
  // every flag, this one empty when it was not set.)
  if (v.given("staleness-bound") && !v.get("staleness-bound").empty()) {
    if (c.variant != "ssp")
      throw InputError("--staleness-bound: only for --variant ssp (the variant is '" + c.variant + "')");
    const long long S = parse_int(v.get("staleness-bound"), "--staleness-bound");
    if (S < 0) throw InputError("--staleness-bound: must be >= 0, got " + v.get("staleness-bound"));
    c.variant = ssp_name(static_cast<std::size_t>(S));
  }
  c.P = to_size(v, "P", 1);
  c.K = to_size(v, "K", 1);
  // The default K = 2 cannot hold with one learner: an unset K is min(2, P), so -P 1
  // works for every variant. A K the user gave is checked as given.
  if (!v.given("K")) c.K = std::min(c.K, c.P);
  if (c.P > 1024) throw InputError("-P: " + v.get("P") + " learners is more than the 1024 supported");
  if (!v.get("max-staleness").empty()) c.max_staleness = to_size(v, "max-staleness", 1);
  c.k_schedule = parse_k_schedule(v.get("k-schedule"));
  // AdaSync's K0 is the K the run starts with: k0= replaces -K (a checkpoint's saved
  // configuration holds both, so they cannot be required to agree).
  if (c.k_schedule.adaptive() && c.k_schedule.k0 > 0) {
    if (c.k_schedule.k0 > c.P)
      throw InputError("--k-schedule: k0=" + std::to_string(c.k_schedule.k0) + " is more than the " +
                       std::to_string(c.P) + " learners (-P)");
    c.K = c.k_schedule.k0;
  }
  check_k_schedule(c.k_schedule, config_variant(c));  // validates name, K in [1, P], the
                                                      // threshold's and the schedule's variant
  c.delay = v.get("delay");
  {
    DelayContext ctx;  // validates the spec (and reads a trace) before any data is loaded
    ctx.num_learners = c.P;
    make_delay_model(c.delay, ctx);
  }
  c.delay_after_compute = v.flag("delay-after-compute");
  // What the learners will do (summary.json's compute_at says "start" with
  // --delay-after-compute, whatever was asked).
  c.compute_at = effective_compute_at(*compute_at_from(one_of(v, "compute-at", {"deadline", "start"})),
                                      c.delay_after_compute);
  c.lr = to_double(v, "lr");
  c.lr_schedule = v.get("lr-schedule");
  c.lr_decay = v.get("lr-decay");
  make_lr_schedule(c.lr_schedule, c.lr, c.lr_decay);  // validates
  c.compensation = parse_compensation(v.get("compensation"));
  c.clock = one_of(v, "clock", {"real", "virtual"});
  c.timing_only = v.flag("timing-only");
  if (c.timing_only && c.k_schedule.adaptive())
    throw InputError("--k-schedule " + v.get("k-schedule") +
                     ": AdaSync scores the training loss, which --timing-only does not compute");
  // Race parameters have no --transport: their learners are threads.
  if (v.has("transport")) c.transport = one_of(v, "transport", {"threads", "mpi"});
  if (c.transport == "mpi") {
    if (!kBuiltWithMpi)
      throw InputError("--transport mpi: this racesgd was built without MPI (install libopenmpi-dev "
                       "and build again; --transport threads runs the learners as threads)");
    if (c.clock == "virtual")
      throw InputError("--transport mpi: runs on the real clock only (the virtual clock simulates "
                       "its learners; drop --clock virtual or --transport mpi)");
  }

  if (!v.get("time").empty()) {
    c.stop.time_s = parse_duration_seconds(v.get("time"), "--time");
    if (!(c.stop.time_s > 0)) throw InputError("--time: must be positive");
  }
  if (!v.get("updates").empty()) c.stop.updates = to_size(v, "updates", 1);
  if (!v.get("target-error").empty()) {
    c.stop.target_error = to_double(v, "target-error");
    if (c.stop.target_error < 0 || c.stop.target_error > 1)
      throw InputError("--target-error: " + v.get("target-error") + " must lie in [0, 1]");
    if (c.timing_only)
      throw InputError("--target-error: needs gradients, so it cannot be used with --timing-only");
  }
  if (v.get("time").empty() && v.get("updates").empty() && v.get("target-error").empty())
    c.stop.time_s = 30.0;
  if (c.stop.target_error >= 0 && v.get("time").empty() && v.get("updates").empty())
    c.stop.time_s = kTargetErrorTimeCapS;  // a target never reached must not run forever

  c.continue_on_learner_failure = one_of(v, "on-learner-failure", {"stop", "continue"}) == "continue";
  c.stall_timeout_s = parse_duration_seconds(v.get("stall-timeout"), "--stall-timeout");
  if (c.stall_timeout_s < 0) throw InputError("--stall-timeout: must be >= 0s");
  c.eval_every = v.get("eval-every");
  c.eval_train_samples = to_size(v, "eval-train-samples", 0);
  c.snapshot_memory = v.get("snapshot-memory");
  c.seed = static_cast<std::uint64_t>(parse_int(v.get("seed"), "--seed"));
  c.data.seed = c.seed;
  c.eigen_cache = v.get("eigen-cache");
  bool use = false;
  parse_eigen_cache_sizes(c.eigen_cache, "--eigen-cache", &use);
  c.checkpoint_dir = v.get("checkpoint");
  if (v.given("checkpoint-every") && !v.given("checkpoint"))
    throw InputError("--checkpoint-every: has no effect without --checkpoint DIR");
  c.checkpoint_every_s = parse_duration_seconds(v.get("checkpoint-every"), "--checkpoint-every");
  if (!(c.checkpoint_every_s > 0)) throw InputError("--checkpoint-every: must be positive");
  c.out = v.get("out");
  if (c.out.empty()) throw InputError("--out: an output folder is required");
  c.progress = one_of(v, "progress", {"auto", "on", "off"});
  c.raw = v.to_json();
  c.raw["K"] = std::to_string(c.K);  // the K in force (see the min(2, P) default above)
  resolve_eval_schedule(c);  // validates --eval-every
  return c;
}

Variant config_variant(const ExperimentConfig& cfg) {
  return make_variant(cfg.variant, cfg.P, cfg.K, cfg.max_staleness);
}

EvalSchedule resolve_eval_schedule(const ExperimentConfig& c) {
  EvalSchedule e;
  e.train_samples = c.eval_train_samples;
  if (c.snapshot_memory != "auto")
    e.snapshot_memory = parse_memory_size(c.snapshot_memory, "--snapshot-memory");
  const std::string& t = c.eval_every;
  if (t == "auto") {
    // The linear grid: kAutoLinearPoints over the run, in time when it has a time limit,
    // in updates when it has an update limit (both when both).
    const bool timed = std::isfinite(c.stop.time_s);
    const bool counted = c.stop.updates != std::numeric_limits<std::uint64_t>::max();
    if (timed) e.every_s = c.stop.time_s / kAutoLinearPoints;
    if (counted) e.every_updates = std::max<std::uint64_t>(1, c.stop.updates / kAutoLinearPoints);
    // Plus geometric ticks, dense where the curve moves: from 1 ms of run time (a
    // thousandth of a shorter run) and from update 1, kAutoGeometricRatio apart.
    e.geometric_ratio = kAutoGeometricRatio;
    if (timed) e.geometric_from_s = std::min(kAutoGeometricFromS, c.stop.time_s / 1000);
    e.geometric_updates = counted;
    return e;
  }
  if (has_duration_unit(t)) {
    e.every_s = parse_duration_seconds(t, "--eval-every");
    if (!(e.every_s > 0)) throw InputError("--eval-every: must be positive");
  } else {
    const long long n = parse_int(t, "--eval-every");
    if (n < 1)
      throw InputError("--eval-every: '" + t + "' must be auto, a duration (0.5s) or a number of updates >= 1");
    e.every_updates = static_cast<std::uint64_t>(n);
  }
  return e;
}

PreparedData prepare_data(const ExperimentConfig& cfg) {
  PreparedData p;
  p.data = load_data(cfg.data, &p.info);
  for (const std::string& w : p.info.warnings) std::cerr << "racesgd: warning: " << w << "\n";
  return p;
}

std::string contention_warning(const RunResult& r, const std::string& clock) {
  if (clock != "real") return "";
  std::string out;
  const double excess = r.delay_drawn_mean_s > 0 ? r.delay_served_mean_s / r.delay_drawn_mean_s - 1.0 : 0.0;
  if (excess > kContentionWarnExcess)
    out = "the delays served were " + format_fixed(100.0 * excess, 0) + "% longer than drawn (" +
          format_duration(r.delay_served_mean_s) + " against " + format_duration(r.delay_drawn_mean_s) +
          " on average): the learners are competing for CPU cores, so this run measures the "
          "machine more than the delay model; use fewer learners (-P) or --clock virtual";
  if (r.host_steal_fraction && *r.host_steal_fraction > kStealWarnFraction) {
    if (!out.empty()) out += "; and ";
    out += "this virtual machine's host took " + format_fixed(100.0 * *r.host_steal_fraction, 1) +
           "% of its CPU time for others during the run (steal time): its timings include the host's "
           "other tenants; repeat it on a quieter host or use --clock virtual";
  }
  return out;
}

bool allowed_with_resume(const std::string& param) {
  // Where the learners run does not shape the run either: a real-clock resume restarts
  // every learner on the saved weights with new streams, threads or MPI ranks alike (so a
  // run whose learner rank died can go on over threads).
  return param == "resume" || param == "out" || param == "progress" || param == "checkpoint" ||
         param == "checkpoint-every" || param == "transport";
}

std::string checkpoint_config(const ExperimentConfig& cfg, const PreparedData& data) {
  nlohmann::json params = cfg.raw;
  params["resume"] = "";
  nlohmann::json j;
  j["params"] = params;
  j["data"] = {{"train_samples", data.data.train.size()},
               {"test_samples", data.data.test.size()},
               {"features", data.data.train.dim()}};
  return j.dump();
}

RunOutput run_experiment(const ExperimentConfig& cfg, const PreparedData& data,
                         const ProgressFn& progress, const std::atomic<bool>* interrupt,
                         const RunCheckpoint* resume, const LearnerTransportFactory& learners) {
  bool use_cache = false;
  const EigenCacheSizes sizes = parse_eigen_cache_sizes(cfg.eigen_cache, "--eigen-cache", &use_cache);
  if (use_cache) apply_eigen_cache_sizes(sizes);

  const Dataset& train = data.data.train;
  const Dataset& test = data.data.test;
  auto model = make_model<float>(cfg.model, train.dim(), train.num_classes, cfg.l2);
  if (!cfg.timing_only)  // before the initial weights: a model too big fails at once (exit 2)
    check_run_memory_here(*model, run_weight_copies(cfg.clock == "real", cfg.P),
                          resolve_eval_schedule(cfg).snapshot_memory);
  if (static_cast<std::size_t>(train.size()) < cfg.batch)
    throw InputError("--batch: " + std::to_string(cfg.batch) + " is larger than the training set (" +
                     std::to_string(train.size()) + " samples)");
  DelayContext dctx;
  dctx.num_learners = cfg.P;
  auto delay = make_delay_model(cfg.delay, dctx);
  auto lr = make_lr_schedule(cfg.lr_schedule, cfg.lr, cfg.lr_decay);
  std::vector<float> w0(static_cast<std::size_t>(model->num_params()));
  model->init(w0, derive_seed(cfg.seed, 0, StreamPurpose::kInit));

  RunInputs in;
  in.model = model.get();
  in.train = &train;
  in.test = &test;
  in.delay = delay.get();
  in.lr = lr.get();
  in.w0 = w0;
  in.settings.variant = config_variant(cfg);
  in.settings.batch = cfg.batch;
  in.settings.seed = cfg.seed;
  in.settings.stop = cfg.stop;
  in.settings.eval = resolve_eval_schedule(cfg);
  in.settings.timing_only = cfg.timing_only;
  in.settings.delay_after_compute = cfg.delay_after_compute;
  in.settings.compute_at = cfg.compute_at;
  in.settings.compensation = cfg.compensation;
  in.settings.k_schedule = cfg.k_schedule;
  in.settings.continue_on_learner_failure = cfg.continue_on_learner_failure;
  in.settings.stall_timeout_s = cfg.stall_timeout_s;
  in.progress = progress;
  in.interrupt = interrupt;
  in.learners = learners;

  RunOutput out;
  in.checkpoint.resume = resume;
  if (!cfg.checkpoint_dir.empty()) {
    const std::string config_text = checkpoint_config(cfg, data);
    in.checkpoint.every_s = cfg.checkpoint_every_s;
    in.checkpoint.at_end = true;
    in.checkpoint.save = [&out, config_text, dir = cfg.checkpoint_dir](const RunCheckpoint& c) {
      out.checkpoint_bytes = write_checkpoint(dir, CheckpointFile{config_text, c});
    };
  }
  out.result = cfg.clock == "virtual" ? run_virtual(in) : run_real(in);
  if (out.result.divergence) {  // name the flag most likely at fault (ps/divergence.h)
    const DivergenceSuspects suspects{cfg.l2, data.info.scaling,
                                      train.size() ? static_cast<double>(train.x.cwiseAbs().maxCoeff()) : 0.0,
                                      out.result.staleness_mean};
    out.result.error += "; likely cause: " + likely_divergence_cause(*out.result.divergence, suspects);
  }
  RunDescription description;
  description.K = in.settings.variant.K;
  description.delay = delay->spec();
  description.model = model->spec();
  description.num_params = model->num_params();
  description.lr_schedule = lr->spec();
  description.context = run_context();
  out.summary = summarize(out.result, cfg, data, description);
  return out;
}

}  // namespace racesgd
