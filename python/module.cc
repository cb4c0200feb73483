// _racesgd: the C++ half of `import racesgd` (python/racesgd/__init__.py is the other).
// It is a thin layer over the embedding API (bench/api.h): flags arrive as the text the
// CLI would see, so validation and error messages are the CLI's own; this file adds only
// what a Python caller brings: numpy arrays as data or delays, a callable delay, Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/api.h"
#include "bench/commands.h"
#include "bench/params.h"
#include "bench/report.h"
#include "core/durable_file.h"
#include "core/error.h"
#include "delay/delay_model.h"
#include "delay/delay_trace.h"

namespace py = pybind11;

namespace racesgd {
namespace {

// ---------------------------------------------------------------------------------------
// Delays from Python. The spec "python" names whatever delay the current train() or race()
// call brought (an array or a callable): the delay registry is process-wide and a run is
// built from a spec string, so the call parks its delay here for the factory to pick up.
// The calls run without the GIL, so another Python thread's call could start meanwhile: a
// second call that brings a delay while one is parked is refused (ParkedDelay), never
// handed the first one's (which would die under it). Parking and unparking happen with the
// GIL held, which orders them.

struct PythonDelay {
  std::optional<DelayTrace> trace;  // from an array: replayed like a trace file
  bool stop_at_end = false;
  std::string label;
  py::object fn;                    // or a callable f(worker, rng) -> seconds
  // One numpy Generator per learner, seeded from the learner's own delay stream on its
  // first draw, so a run with the same seed draws the same delays. Owned here (not by the
  // model, which dies with the GIL released) so Python objects die with the GIL held.
  std::vector<py::object> generators;
  // Each CallableDelay made counts one up; its first draw drops the generators of an
  // earlier one, so every run of a race starts the streams afresh from its own seed.
  std::uint64_t made = 0;
  std::uint64_t generators_of = 0;  // the CallableDelay the generators belong to
};

// Atomics: a run on another thread (a call without the GIL) may look while one is parked.
std::atomic<PythonDelay*> g_python_delay{nullptr};
std::atomic<std::thread::id> g_parked_by{};  // the thread whose call parked it: only its runs use it

// Parks a delay for the duration of one call.
class ParkedDelay {
 public:
  explicit ParkedDelay(PythonDelay* d) {
    if (g_python_delay != nullptr)
      throw std::runtime_error(
          "racesgd: another train() or race() call with a Python delay (an array or a function) "
          "is running in this process; run them one after the other");
    g_parked_by = std::this_thread::get_id();
    g_python_delay = d;
  }
  ~ParkedDelay() {
    g_python_delay = nullptr;
    g_parked_by = std::thread::id();
  }
  ParkedDelay(const ParkedDelay&) = delete;
  ParkedDelay& operator=(const ParkedDelay&) = delete;
};

// Calls the Python function with the GIL: cheap per draw next to a minibatch only on the
// virtual clock, which is why the Python side refuses a callable on the real clock.
class CallableDelay final : public DelayModel {
 public:
  CallableDelay(PythonDelay* d, std::uint64_t id) : d_(d), id_(id) {}
  double sample(std::size_t learner, Rng& rng) override {
    const py::gil_scoped_acquire gil;
    if (d_->generators_of != id_) {  // dropped with the GIL held
      d_->generators.clear();
      d_->generators_of = id_;
    }
    if (d_->generators.size() <= learner) d_->generators.resize(learner + 1);
    py::object& gen = d_->generators[learner];
    if (!gen) gen = py::module_::import("numpy.random").attr("default_rng")(rng.next());
    const double seconds = d_->fn(learner, gen).cast<double>();
    if (!(seconds >= 0))  // NaN too
      throw InputError("--delay: the Python function returned " + std::to_string(seconds) +
                       " for learner " + std::to_string(learner) +
                       " (a delay is a number of seconds >= 0)");
    return seconds;
  }
  std::string spec() const override { return "python:function=" + d_->label; }

 private:
  PythonDelay* d_;
  std::uint64_t id_;
};

std::unique_ptr<DelayModel> make_python_delay(SpecArgs& args, const DelayContext& ctx) {
  // A run builds its delay model on the thread that called train() or race().
  PythonDelay* d = g_parked_by.load() == std::this_thread::get_id() ? g_python_delay.load() : nullptr;
  if (d == nullptr)
    args.fail("'python' is the delay racesgd.train(delay=...) or race(delay=...) gives as a "
              "numpy array or a function; it is not available from the command line");
  if (d->fn) return std::make_unique<CallableDelay>(d, ++d->made);
  const std::size_t columns = d->trace->columns.size();
  if (columns != 1 && columns != ctx.num_learners)
    args.fail("the delay array has " + std::to_string(columns) + " columns but there are " +
              std::to_string(ctx.num_learners) +
              " learners (give a 1-D array shared by all, or one column per learner)");
  return make_trace_delay(*d->trace, ctx.num_learners, d->stop_at_end, d->label);
}

// A 1-D array (shared) or 2-D (rows = draws, columns = learners) of seconds.
DelayTrace trace_from_array(const py::array& a) {
  if (a.ndim() != 1 && a.ndim() != 2)
    throw InputError("--delay: the delay array must be 1-D (shared) or 2-D (rows = draws, "
                     "columns = learners), not " + std::to_string(a.ndim()) + "-D");
  const auto values = py::array_t<double, py::array::forcecast>::ensure(a);
  if (!values) throw InputError("--delay: the delay array must hold numbers");
  const auto rows = static_cast<std::size_t>(values.shape(0));
  const std::size_t cols = values.ndim() == 2 ? static_cast<std::size_t>(values.shape(1)) : 1;
  if (rows == 0 || cols == 0) throw InputError("--delay: the delay array is empty");
  DelayTrace trace;
  trace.columns.assign(cols, std::vector<double>(rows));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const double x = values.ndim() == 2 ? values.at(r, c) : values.at(r);
      if (!std::isfinite(x) || x < 0)
        throw InputError("--delay: the delay array holds " + std::to_string(x) + " at row " +
                         std::to_string(r) + (cols > 1 ? ", column " + std::to_string(c) : "") +
                         " (delays are finite seconds >= 0)");
      trace.columns[c][r] = x;
    }
  return trace;
}

// ---------------------------------------------------------------------------------------
// Data from Python: (X_train, y_train, X_test, y_test), copied once into the Dataset.

MatrixRM<float> features(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(what) + " must be a numpy array");
  const auto a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 2)
    throw InputError(std::string(what) + " must be 2-D (rows = samples, columns = features), not " +
                     std::to_string(a.ndim()) + "-D");
  if (!a.dtype().is(py::dtype::of<float>()))
    throw InputError(std::string(what) + " must be float32, not " +
                     py::str(a.dtype()).cast<std::string>() +
                     " (convert with .astype(numpy.float32): racesgd trains in float32)");
  const auto f = py::reinterpret_borrow<py::array_t<float>>(a);
  // A strided view of the caller's buffer, so the one copy below is the only one.
  using Stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const MatrixRM<float>, 0, Stride> view(
      f.data(), f.shape(0), f.shape(1),
      Stride(f.strides(0) / static_cast<py::ssize_t>(sizeof(float)),
             f.strides(1) / static_cast<py::ssize_t>(sizeof(float))));
  MatrixRM<float> x = view;
  if (!x.allFinite()) throw InputError(std::string(what) + " holds NaN or Inf");
  return x;
}

std::vector<std::int32_t> labels(const py::handle& obj, const char* what, Eigen::Index rows) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(what) + " must be a numpy array");
  const auto a = py::reinterpret_borrow<py::array>(obj);
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u')
    throw InputError(std::string(what) + " must hold integer class labels, not " +
                     py::str(a.dtype()).cast<std::string>());
  if (a.ndim() != 1)
    throw InputError(std::string(what) + " must be 1-D, not " + std::to_string(a.ndim()) + "-D");
  if (a.shape(0) != rows)
    throw InputError(std::string(what) + " has " + std::to_string(a.shape(0)) +
                     " labels for " + std::to_string(rows) + " rows of features");
  const auto y = py::array_t<std::int64_t, py::array::forcecast>::ensure(a);
  std::vector<std::int32_t> out(static_cast<std::size_t>(rows));
  for (py::ssize_t i = 0; i < rows; ++i) {
    const std::int64_t label = y.at(i);
    if (label < 0 || label > INT32_MAX)
      throw InputError(std::string(what) + "[" + std::to_string(i) + "] = " +
                       std::to_string(label) + " is not a class label (>= 0)");
    out[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(label);
  }
  return out;
}

PreparedData arrays_data(const py::tuple& t) {
  if (t.size() != 4)
    throw py::type_error("data must be 'mnist', a path, or a tuple (X_train, y_train, X_test, y_test)");
  PreparedData p;
  Dataset& train = p.data.train;
  Dataset& test = p.data.test;
  train.name = "numpy/train";
  test.name = "numpy/test";
  train.x = features(t[0], "X_train");
  train.y = labels(t[1], "y_train", train.x.rows());
  test.x = features(t[2], "X_test");
  test.y = labels(t[3], "y_test", test.x.rows());
  if (train.x.rows() == 0) throw InputError("X_train has no rows");
  if (test.x.rows() == 0) throw InputError("X_test has no rows");
  if (test.x.cols() != train.x.cols())
    throw InputError("X_test has " + std::to_string(test.x.cols()) + " features but X_train has " +
                     std::to_string(train.x.cols()));
  // The classes are those training can learn: 0 .. the largest training label.
  std::int32_t classes = 0;
  for (std::int32_t y : train.y) classes = std::max(classes, y + 1);
  for (std::size_t i = 0; i < test.y.size(); ++i)
    if (test.y[i] >= classes)
      throw InputError("y_test[" + std::to_string(i) + "] = " + std::to_string(test.y[i]) +
                       " is not in [0, " + std::to_string(classes) +
                       "), the classes y_train has");
  train.num_classes = classes;
  test.num_classes = classes;
  p.info.format = "numpy";
  p.info.train_source = "numpy arrays";
  p.info.test_source = "numpy arrays";
  p.info.label_map = "identity";
  p.info.scaling = "none";
  return p;
}

// ---------------------------------------------------------------------------------------
// A finished (or stopped) run as Python sees it.

struct Run {
  RunOutput out;
  py::object interrupt;  // the KeyboardInterrupt (or other signal error) that stopped it

  // Columns as curve.csv has them (report.h's CurveColumns): wall_s on the real clock
  // only, no errors with --timing-only.
  py::dict curve() const {
    const auto& c = out.result.curve;
    const bool real = out.summary.value("clock", std::string("real")) == "real";
    const bool errors = !out.summary.value("timing_only", false);
    auto column = [&c](auto get) {
      using T = decltype(get(c.front()));
      py::array_t<T> a(static_cast<py::ssize_t>(c.size()));
      auto m = a.template mutable_unchecked<1>();
      for (std::size_t i = 0; i < c.size(); ++i) m(static_cast<py::ssize_t>(i)) = get(c[i]);
      return a;
    };
    py::dict d;
    d["time_s"] = column([](const CurvePoint& p) { return p.time_s; });
    d["updates"] = column([](const CurvePoint& p) { return p.updates; });
    d["gradients"] = column([](const CurvePoint& p) { return p.gradients; });
    if (errors) {
      d["train_loss"] = column([](const CurvePoint& p) { return p.train_loss; });
      d["test_error"] = column([](const CurvePoint& p) { return p.test_error; });
    }
    d["staleness_mean"] = column([](const CurvePoint& p) { return p.staleness_mean; });
    d["K"] = column([](const CurvePoint& p) { return p.k; });
    if (real) d["wall_s"] = column([](const CurvePoint& p) { return p.wall_s; });
    return d;
  }
};

// Ctrl-C: the run holds no GIL, so Python's SIGINT handler only sets a flag; the progress
// hook takes the GIL a few times a second to let it run, and stops the run (the API's stop
// flag, as the CLI's SIGINT does) when it raised.
class SignalWatch {
 public:
  ProgressFn hook() {
    return [this](const Progress&) { check(); };
  }
  void check() {
    if (stop_.load()) return;
    const py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      error_ = std::make_unique<py::error_already_set>();
      stop_.store(true);
    }
  }
  const std::atomic<bool>* stop() const { return &stop_; }
  // The exception the signal handler raised (None if none). Call with the GIL.
  py::object take() {
    if (!error_) return py::none();
    py::object value = error_->value();
    error_.reset();
    return value;
  }

 private:
  std::atomic<bool> stop_{false};
  std::unique_ptr<py::error_already_set> error_;
};

// What a train() or race() call brings from Python besides its flags: a delay (an array or
// a function, parked for the "python" spec while the call runs) and data as arrays.
class PythonInputs {
 public:
  PythonInputs(const py::object& data, const py::object& delay_array, bool stop_at_end,
               const py::object& delay_fn, const std::string& delay_label) {
    delay_.label = delay_label;
    if (!delay_array.is_none()) delay_.trace = trace_from_array(delay_array.cast<py::array>());
    if (!delay_fn.is_none()) delay_.fn = delay_fn;
    delay_.stop_at_end = stop_at_end;
    // Only a call that brought a delay makes "python" available (a spec typed by hand fails).
    if (delay_.trace || delay_.fn) parked_.emplace(&delay_);
    if (!data.is_none()) data_ = arrays_data(data.cast<py::tuple>());
  }
  PythonInputs(const PythonInputs&) = delete;
  PythonInputs& operator=(const PythonInputs&) = delete;
  /// The arrays as the run's data; null when the call brought none (--data is loaded).
  const PreparedData* data() const { return data_ ? &*data_ : nullptr; }

 private:
  PythonDelay delay_;
  std::optional<ParkedDelay> parked_;  // after delay_: unparks before it dies
  std::optional<PreparedData> data_;
};

Run run_train(const TrainFlags& flags, const py::object& data, const py::object& delay_array,
              bool stop_at_end, const py::object& delay_fn, const std::string& delay_label) {
  const PythonInputs inputs(data, delay_array, stop_at_end, delay_fn, delay_label);
  const ExperimentConfig cfg = make_train_config(flags);
  SignalWatch watch;
  TrainHooks hooks;
  hooks.progress = watch.hook();
  hooks.stop = watch.stop();
  Run run;
  {
    const py::gil_scoped_release nogil;
    run.out = inputs.data() != nullptr ? train(cfg, *inputs.data(), hooks) : train(cfg, hooks);
  }
  watch.check();  // a Ctrl-C after the last progress call still stops the caller
  run.interrupt = watch.take();
  return run;
}

// Flags for race and theory, checked as their commands check them.
ParamValues command_values(const std::vector<ParamDef>& defs, const TrainFlags& flags) {
  ParamValues values(defs);
  for (const auto& [name, value] : flags) values.set(name, value);
  return values;
}

struct RaceResult {
  std::vector<std::pair<RaceRun, Run>> runs;  // (entry, repeat, seed; curve and summary)
  std::string summary_json;
  py::object interrupt;
};

RaceResult run_race(const TrainFlags& flags, const py::object& data, const py::object& delay_array,
                    bool stop_at_end, const py::object& delay_fn, const std::string& delay_label) {
  const PythonInputs inputs(data, delay_array, stop_at_end, delay_fn, delay_label);
  ParamValues values = command_values(race_params(), flags);
  SignalWatch watch;
  RaceOptions options;
  options.cli = false;
  options.progress = watch.hook();
  options.data = inputs.data();
  RaceOutput out;
  {
    const py::gil_scoped_release nogil;
    out = race(std::move(values), watch.stop(), options);
  }
  watch.check();
  RaceResult r;
  r.summary_json = out.summary.dump(2);
  for (RaceRun& run : out.runs) {
    Run one;
    one.out = std::move(run.out);
    r.runs.emplace_back(std::move(run), std::move(one));
  }
  r.interrupt = watch.take();
  return r;
}

std::string run_theory(const TrainFlags& flags) {
  const ParamValues values = command_values(theory_params(), flags);
  const py::gil_scoped_release nogil;  // --measure runs simulations
  return theory_json(values).dump();
}

}  // namespace
}  // namespace racesgd

PYBIND11_MODULE(_racesgd, m) {
  using namespace racesgd;
  m.doc() = "racesgd's C++ runtime; use the racesgd package (python/racesgd/__init__.py)";
  // The CLI prints these and exits 2; Python gets them as the errors it expects for bad
  // arguments, and an unwritable folder as an OSError.
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);
  py::register_exception<WriteError>(m, "WriteError", PyExc_OSError);
  register_delay_model("python", "python  the array or function racesgd.train(delay=...) gives",
                       make_python_delay);

  py::class_<Run>(m, "Run")
      .def("curve", &Run::curve)
      .def("summary_json", [](const Run& r) { return r.out.summary.dump(2); })
      .def("write", [](const Run& r, const std::string& dir) {
        write_run_outputs(dir, r.out.result.curve, r.out.summary);
      })
      .def_readonly("interrupt", &Run::interrupt);
  py::class_<RaceResult>(m, "RaceResult")
      .def("runs", [](RaceResult& r) {
        py::list out;
        for (auto& [info, run] : r.runs)
          out.append(py::make_tuple(info.entry, info.variant, info.K, info.repeat, info.seed,
                                    py::cast(std::move(run))));
        return out;
      })
      .def_readonly("summary_json", &RaceResult::summary_json)
      .def_readonly("interrupt", &RaceResult::interrupt);
  m.def("race", &run_race, py::arg("flags"), py::arg("data"), py::arg("delay_array"),
        py::arg("stop_at_end"), py::arg("delay_fn"), py::arg("delay_label"));
  m.def("theory", &run_theory, py::arg("flags"));
  m.def("train", &run_train, py::arg("flags"), py::arg("data"), py::arg("delay_array"),
        py::arg("stop_at_end"), py::arg("delay_fn"), py::arg("delay_label"));
}
