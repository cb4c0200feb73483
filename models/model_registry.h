// The model registry: every model is named by a spec string ("logistic", "softmax",
// "mlp:hidden=256,128"), the same strings the CLI and the tests use. One table row per
// model (model_registry.cc) drives construction, validation and --help.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/model.h"

namespace racesgd {

/// Builds the model named by `spec` for data with `input_dim` features and `num_classes`
/// classes, with L2 coefficient `l2` (lambda in lambda/2 * ||W||^2; weights only, never
/// biases). Throws InputError ("model spec '<spec>': <problem>") on an unknown model, an
/// unknown or out-of-range parameter, logistic with num_classes != 2, input_dim < 1,
/// num_classes < 2, or l2 negative or not finite. Allocates; thread-safe.
template <typename T>
std::unique_ptr<ModelT<T>> make_model(std::string_view spec, Eigen::Index input_dim,
                                      int num_classes, double l2);

extern template std::unique_ptr<ModelT<float>> make_model<float>(std::string_view, Eigen::Index,
                                                                 int, double);
extern template std::unique_ptr<ModelT<double>> make_model<double>(std::string_view,
                                                                   Eigen::Index, int, double);

/// The registered model names, sorted ("logistic", "mlp", "softmax").
std::vector<std::string> model_names();

/// Help text for --help: one entry per model with its parameters, ranges and defaults.
std::string model_help();

}  // namespace racesgd
