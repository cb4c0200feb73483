#include "bench/params.h"

#include <regex>

#include "core/error.h"

namespace racesgd {

const std::vector<ParamDef>& train_params() {
  static const std::vector<ParamDef> defs = {
      // Data
      {"data", "", "mnist", "mnist|fashion-mnist|PATH", "dataset, or a file (IDX, LIBSVM, CSV)", "Data"},
      {"format", "", "auto", "auto|idx|libsvm|csv", "file format of a --data PATH", "Data"},
      {"data-dir", "", "", "DIR", "where scripts/setup.sh put the datasets (default: <repo>/data)", "Data"},
      {"test-data", "", "", "PATH", "separate test file for a --data PATH (same format)", "Data"},
      {"test-fraction", "", "0.2", "(0, 1)", "held-out fraction when a --data PATH has no test file", "Data"},
      {"label-column", "", "", "NAME|INDEX", "CSV label column (default: last)", "Data"},
      {"scale", "", "max", "none|max|unit|standard", "feature scaling, statistics from the training set only", "Data"},
      {"binary", "", "", "A,B|even-odd", "derive a binary task (for --model logistic)", "Data"},
      {"max-train", "", "0", ">= 0", "keep at most this many training samples (0 = all)", "Data"},
      {"max-test", "", "0", ">= 0", "keep at most this many test samples (0 = all)", "Data"},
      // Model
      {"model", "", "softmax", "logistic|softmax|mlp:hidden=W1,W2,...", "model", "Model"},
      {"l2", "", "0", ">= 0", "L2 regularisation strength (weights, not biases)", "Model"},
      {"batch", "", "64", ">= 1", "minibatch size m per gradient", "Model"},
      // Variant
      {"variant", "", "sync", "sync|k-sync|k-batch-sync|async|k-async|k-batch-async|ssp", "SGD variant (paper.md; ssp: stale synchronous parallel, needs --staleness-bound)", "Variant"},
      {"staleness-bound", "", "", "S >= 0", "ssp: a learner waits while it is more than S minibatches ahead of the slowest (S = 0: a barrier every round)", "Variant"},
      {"P", "P", "8", ">= 1", "number of learners (one thread each)", "Variant"},
      {"K", "K", "2", "1..P", "gradients averaged per update (ignored by sync and async); when not given, 2 capped at P", "Variant"},
      {"max-staleness", "", "", "R >= 1", "Ringmaster ASGD (async, k-async, k-batch-async): never apply a gradient R or more updates old; a learner whose computation becomes that stale is cancelled and restarts on the newest weights at once (unset: no threshold)", "Variant"},
      {"k-schedule", "", "fixed", "fixed|adasync:every=T0[,k0=K0][,samples=N]", "AdaSync (k-sync, k-batch-sync, k-async, k-batch-async): every T0 of run time K becomes min(P, ceil(K0 sqrt(F(w_0)/F(w_t)))), never decreasing, F the training loss on N samples (2000; 0: all, a copy of the training set); K0 (k0=, default -K) replaces -K", "Variant"},
      {"delay", "", "exp:mean=5ms", "delay spec (see docs/delay-models.md)", "straggler delay model: each minibatch's total time X", "Variant"},
      {"compute-at", "", "deadline", "deadline|start", "real clock: when a learner computes its gradient inside X: just in time for start + X (learned lead), or at once at the start (the first release; always with --delay-after-compute)", "Variant"},
      {"delay-after-compute", "", "false", "", "serve X after the gradient computation instead of until start + X", "Variant", true},
      {"lr", "", "0.1", "> 0", "learning rate (eta; eta_max for staleness; eta0 for inverse-staleness)", "Variant"},
      {"lr-schedule", "", "constant", "constant|staleness:c=C|inverse-staleness", "learning-rate schedule", "Variant"},
      {"compensation", "", "none", "none|dc[:lambda=L]|dc-adaptive[:lambda0=L0,momentum=M,eps=E]", "delay compensation of stale gradients (DC-ASGD; lambda 0.04, lambda0 2, momentum 0.95, eps 1e-7)", "Variant"},
      {"lr-decay", "", "none", "none|step:every=N[s],factor=F", "step decay, in updates or run time", "Variant"},
      // Run
      {"clock", "", "real", "real|virtual", "real threads and sleeps, or the discrete-event virtual clock", "Run"},
      {"transport", "", "threads", "threads|mpi", "where the learners of a real-clock run are: threads of this process, or MPI ranks (mpirun -np P+1 racesgd train --transport mpi ...: rank 0 is the PS, ranks 1..P the learners; docs/scale-out.md)", "Run"},
      {"time", "", "", "duration", "stop after this much run time (default 30s when no other limit is given)", "Run"},
      {"updates", "", "", ">= 1", "stop after this many updates", "Run"},
      {"target-error", "", "", "[0, 1]", "stop once the test error reaches this (alone, without --time or --updates: at most 600s of run time)", "Run"},
      {"on-learner-failure", "", "stop", "stop|continue", "a learner whose minibatch throws stops the run, or leaves it and the others go on", "Run"},
      {"stall-timeout", "", "60s", "duration, 0s = off", "real clock: stop (naming the stuck learners) when no update comes for this long", "Run"},
      {"timing-only", "", "false", "", "no gradients, delays and PS logic only (runtime studies)", "Run", true},
      {"eval-every", "", "auto", "auto|duration|N updates", "evaluation snapshot interval (auto: 100 points over the run plus geometric ticks 1.5% apart from 1 ms and from update 1; a duration or N: that linear grid only)", "Run"},
      {"eval-train-samples", "", "10000", ">= 0", "training samples used for train_loss (0 = all)", "Run"},
      {"snapshot-memory", "", "auto", "auto|SIZE (1GiB, 512MiB)", "memory for evaluation snapshots (d floats each, at most 1024; when full every other linear-grid point is dropped, geometric ones last); a model that cannot keep 8 is rejected (auto: 1/8 of RAM, at most 1GiB)", "Run"},
      {"seed", "", "1", ">= 0", "run seed: every random stream derives from it", "Run"},
      {"eigen-cache", "", "48K,1M,32M", "auto|L1,L2,L3", "cache sizes for Eigen's GEMM blocking (auto: Eigen's detection)", "Run"},
      // Checkpoints
      {"checkpoint", "", "", "DIR", "write checkpoints (DIR/checkpoint.rsgd, atomically) during the run and at its end", "Checkpoints"},
      {"checkpoint-every", "", "10s", "duration > 0", "real time between checkpoints (with --checkpoint)", "Checkpoints"},
      {"resume", "", "", "DIR", "continue the run checkpointed in DIR with the settings saved there; only --out, --progress, --checkpoint, --checkpoint-every and --transport may be given with it", "Checkpoints"},
      // Output
      {"out", "", "runs/train", "DIR", "output folder (curve.csv, summary.json)", "Output"},
      {"progress", "", "auto", "auto|on|off", "live progress line (auto: when stderr is a terminal)", "Output"},
  };
  return defs;
}

const std::vector<ParamDef>& race_params() {
  static const std::vector<ParamDef> defs = [] {
    std::vector<ParamDef> d;
    d.push_back({"config", "", "", "FILE.toml", "experiment file: any parameter below as key = value; flags given on the command line win", "Race"});
    d.push_back({"variants", "", "sync,k-sync,k-batch-sync,async,k-async,k-batch-async",
                 "NAME[:K=k][,R=r][,adasync=T0][,dc=L|dc-adaptive=L0],...", "variants to race, each optionally with its own K, Ringmaster threshold R (--max-staleness; async family), AdaSync check period T0 (--k-schedule adasync:every=T0, K its K0) and delay compensation (--compensation dc:lambda=L or dc-adaptive:lambda0=L0), e.g. async,async:R=4,k-async:K=2,R=8,k-async:K=1,adasync=0.5s,async:dc=0.04; ssp:S=s for SSP", "Race"});
    d.push_back({"repeats", "", "2", "1..100", "runs per variant (seeds seed, seed+1, ...; the same for every variant)", "Race"});
    d.push_back({"target", "", "0.1", "[0, 1]", "test error whose time-to-reach the summary compares (runs do not stop there unless --target-error)", "Race"});
    d.push_back({"plot", "", "true", "", "draw error_vs_time.png/.svg with /usr/bin/python3 + matplotlib (--no-plot: only the CSV and JSON files)", "Race", true});
    d.push_back({"title", "", "", "TEXT", "plot title", "Race"});
    for (ParamDef p : train_params()) {
      // train only: a race runs its learners as threads
      if (p.name == "variant" || p.name == "transport" || p.group == "Checkpoints") continue;
      if (p.name == "out") p.default_value = "runs/race";
      if (p.name == "time") p.help = "run time of each run (default 12s when no other limit is given)";
      d.push_back(p);
    }
    return d;
  }();
  return defs;
}

const std::vector<ParamDef>& theory_params() {
  static const std::vector<ParamDef> defs = {
      {"delay", "", "exp:mean=5ms", "delay spec (see docs/delay-models.md)", "straggler delay model", "Theory"},
      {"P", "P", "8", ">= 1, or a range A..B", "learners; a range prints E[T_sync]/E[T_async] against P", "Theory"},
      {"K", "K", "2", "1..P", "gradients per update (ignored by sync and async); when not given, 2 capped at P", "Theory"},
      {"variant", "", "all", "all|NAME[,NAME...]", "variants to predict", "Theory"},
      {"measure", "", "false", "", "also measure each E[T] in one independent virtual-clock timing-only run (own seed, --mc-updates updates) and print measured/predicted", "Theory", true},
      {"monte-carlo", "", "false", "", "use Monte Carlo for every prediction", "Theory", true},
      {"mc-updates", "", "200000", ">= 1000", "updates simulated per Monte Carlo estimate", "Theory"},
      {"seed", "", "1", ">= 0", "seed of the Monte Carlo streams", "Theory"},
      {"max-staleness", "", "", "R >= 1", "Ringmaster's threshold for async, k-async and k-batch-async: their E[T] by Monte Carlo on the virtual clock, their staleness not modelled (the sync family never applies a stale gradient and ignores it)", "Theory"},
      {"json", "", "false", "", "print JSON instead of a table", "Output", true},
  };
  return defs;
}

const std::vector<ParamDef>& fit_params() {
  static const std::vector<ParamDef> defs = {
      {"trace", "", "", "FILE.csv", "measured minibatch times: a trace file (docs/delay-models.md, \"Trace files\") or a plain one-column CSV, with or without a header", "Input"},
      {"column", "", "", "NAME|N", "fit this column only (a header name, or 1.. in a file without header); default: every column, pooled", "Input"},
      {"unit", "", "s", "s|ms|us|ns", "unit of the values in the file", "Input"},
      {"per-worker", "", "false", "", "one column per learner: also fit the best family with a scale per learner (a hetero spec)", "Input", true},
      {"out", "", "runs/fit", "DIR", "output folder (fit.json, qq.png)", "Output"},
      {"plot", "", "true", "", "draw qq.png with /usr/bin/python3 + matplotlib (--no-plot: fit.json only)", "Output", true},
  };
  return defs;
}

const std::vector<ParamDef>& advise_params() {
  static const std::vector<ParamDef> defs = [] {
    std::vector<ParamDef> d = {
        {"target-error", "", "", "[0, 1]", "the test error to reach: the race ranks variants by their time to it (required)", "Advise"},
        {"trace", "", "", "FILE.csv", "measured minibatch times instead of --delay: every delay family is fitted (racesgd fit) and the best spec is used", "Advise"},
        {"unit", "", "s", "s|ms|us|ns", "unit of the values in --trace", "Advise"},
        {"candidates", "", "4", "1..20", "variants (with their K) theory passes to the race, by predicted time per gradient x (1 + staleness); sync is always raced as the baseline", "Advise"},
        {"beyond", "", "auto", "auto|none|ENTRY,...", "beyond-the-paper entries raced too (race --variants syntax); auto: async:R=P, ssp:S=2 and k-async:K=k,adasync=T0 (k: the best k-async K, T0: a tenth of the run budget)", "Advise"},
        {"budget", "", "300", ">= 10", "each race run stops at the target, or after the run time the slowest raced variant needs for this many updates (predicted)", "Advise"},
        {"repeats", "", "3", "1..100", "race runs per variant (seeds seed, seed+1, ...)", "Advise"},
        {"mc-updates", "", "20000", ">= 1000", "updates per Monte Carlo estimate of the theory", "Advise"},
        {"sweep", "", "", "P=A..B", "phase diagram: advise at P = A, 2A, 4A, ..., B for every --sweep-delay; writes sweep.csv and phase.png", "Sweep"},
        {"sweep-delay", "", "", "SPEC with {a,b,...}", "delay specs of the sweep: one brace list expands into one spec per value, e.g. 'pareto:scale=1ms,alpha={1.5,2,3}'", "Sweep"},
        {"out", "", "runs/advise", "DIR", "output folder (advice.json, advice.md, race/; with --sweep sweep.csv, phase.png, points/)", "Output"},
        {"plot", "", "true", "", "draw the race's error_vs_time.png (and phase.png) with /usr/bin/python3 + matplotlib", "Output", true},
    };
    // What every raced variant shares; the variant, its K and thresholds, the clock and the
    // stop rules are advise's to choose.
    static const std::set<std::string> chosen = {
        "variant", "staleness-bound", "K", "max-staleness", "k-schedule", "compute-at",
        "delay-after-compute", "clock", "transport", "updates", "target-error", "time",
        "on-learner-failure", "stall-timeout", "timing-only", "out"};
    for (const ParamDef& p : train_params())
      if (!chosen.count(p.name) && p.group != "Checkpoints") d.push_back(p);
    return d;
  }();
  return defs;
}

ParamValues::ParamValues(const std::vector<ParamDef>& defs) : defs_(&defs) {
  for (const ParamDef& d : defs) values_[d.name] = d.default_value;
}

void ParamValues::set(const std::string& name, const std::string& value) {
  if (!values_.count(name)) throw InputError("unknown parameter '" + name + "'");
  values_[name] = value;
  given_.insert(name);
}

const std::string& ParamValues::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw InputError("unknown parameter '" + name + "'");
  return it->second;
}

bool ParamValues::flag(const std::string& name) const {
  const std::string& v = get(name);
  if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "off" || v == "no" || v.empty()) return false;
  throw InputError(flag_text(*defs_, name) + ": '" + v + "' is not a boolean (true|false)");
}

nlohmann::json ParamValues::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values_) j[k] = v;
  return j;
}

std::string flag_text(const ParamDef& def) {
  return def.name.size() == 1 ? "-" + def.name : "--" + def.name;
}

std::string flag_text(const std::vector<ParamDef>& defs, std::string_view name) {
  for (const ParamDef& d : defs)
    if (d.name == name) return flag_text(d);
  return "--" + std::string(name);
}

std::pair<std::string, std::string> upgrade_saved_param(const std::string& name,
                                                        const std::string& value) {
  if (name == "on-worker-failure") return {"on-learner-failure", value};
  if (name != "delay" || value.find("faulty:") == std::string::npos) return {name, value};
  // faulty:base=SPEC,worker=W,after=N: the key follows a comma (base comes first). No other
  // built-in delay model has a key named worker, so only faulty's is renamed.
  static const std::regex old_key(R"(,worker=)");
  return {name, std::regex_replace(value, old_key, ",learner=")};
}

}  // namespace racesgd
