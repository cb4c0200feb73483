// The model registry: every model is named by a spec string ("logistic", "softmax",
// "mlp:hidden=256,128", a plug-in's "fm:factors=8"), the same strings the CLI, experiment
// files, the embedding API (bench/api.h) and the tests use. The built-in models register
// through the same API a plug-in uses (register_model); docs/library.md shows a plug-in.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/spec.h"
#include "models/model.h"

namespace racesgd {

/// The data a model is built for: features, classes and the L2 coefficient (lambda in
/// lambda/2 * ||W||^2; weights only, never biases). make_model has checked them (input_dim
/// >= 1, num_classes >= 2, l2 finite and >= 0) before a factory sees them.
struct ModelShape {
  Eigen::Index input_dim = 0;
  int num_classes = 0;
  double l2 = 0;
};

/// A factory reads its parameters through `args` (typed getters; make_model rejects any
/// key nobody asked for after the factory returns) and throws InputError via args.fail()
/// on bad values. Must not return null.
template <typename T>
using ModelFactoryT = std::function<std::unique_ptr<ModelT<T>>(SpecArgs& args, const ModelShape&)>;

/// A model in both precisions: float is what runs are made of; double is for
/// finite-difference gradient checks and may be left empty (make_model<double> then
/// throws InputError naming the model).
struct ModelFactory {
  ModelFactoryT<float> make_float;
  ModelFactoryT<double> make_double;
};

/// Plug-in API: registers a model under `name` (a spec-grammar name: letters, digits, '_',
/// '-', '.'), with its usage ("fm:factors=F") and one line of help for --help. Thread-safe;
/// may be called during static initialisation (see ModelRegistrar), but an explicit call
/// from main() before the first run is the robust way (errors are then catchable).
/// Throws InputError on a name that is taken (built-ins included) or malformed, or a
/// factory without make_float.
void register_model(std::string name, std::string usage, std::string help, ModelFactory factory);

/// Registers a model when constructed, for a plug-in translation unit linked as an object
/// file: `const racesgd::ModelRegistrar kReg{"fm", "fm:factors=F", "...", factory};`
/// (a static library's linker may drop a translation unit nobody references).
struct ModelRegistrar {
  ModelRegistrar(std::string name, std::string usage, std::string help, ModelFactory factory) {
    register_model(std::move(name), std::move(usage), std::move(help), std::move(factory));
  }
};

/// Builds the model named by `spec` for data with `input_dim` features and `num_classes`
/// classes, with L2 coefficient `l2`. Throws InputError ("model spec '<spec>': <problem>")
/// on an unknown model (listing the registered ones), an unknown or out-of-range
/// parameter, a factory's own objection (logistic with num_classes != 2), input_dim < 1,
/// num_classes < 2, or l2 negative or not finite. Allocates; thread-safe.
template <typename T>
std::unique_ptr<ModelT<T>> make_model(std::string_view spec, Eigen::Index input_dim,
                                      int num_classes, double l2);

extern template std::unique_ptr<ModelT<float>> make_model<float>(std::string_view, Eigen::Index,
                                                                 int, double);
extern template std::unique_ptr<ModelT<double>> make_model<double>(std::string_view,
                                                                   Eigen::Index, int, double);

/// The registered model names, sorted ("logistic", "mlp", "softmax", then plug-ins).
std::vector<std::string> model_names();

/// Help text for --help: one entry per model with its usage and help line, sorted by name.
std::string model_help();

}  // namespace racesgd
