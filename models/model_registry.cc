#include "models/model_registry.h"

#include <cmath>

#include "core/error.h"
#include "core/name_registry.h"
#include "models/logistic.h"
#include "models/mlp.h"

namespace racesgd {
namespace {

constexpr long long kMaxWidth = 1 << 20;  // a hidden layer wider than this is a typo

template <typename T>
std::unique_ptr<ModelT<T>> make_logistic(SpecArgs& args, const ModelShape& s) {
  if (s.num_classes != 2)
    args.fail("logistic regression needs exactly 2 classes (labels 0/1) but the data has " +
              std::to_string(s.num_classes) + "; use 'softmax'");
  return std::make_unique<LogisticRegressionT<T>>(s.input_dim, s.l2);
}

template <typename T>
std::unique_ptr<ModelT<T>> make_softmax(SpecArgs& /*args*/, const ModelShape& s) {
  return std::make_unique<MlpT<T>>(s.input_dim, std::vector<Eigen::Index>{}, s.num_classes,
                                   s.l2);
}

template <typename T>
std::unique_ptr<ModelT<T>> make_mlp(SpecArgs& args, const ModelShape& s) {
  std::vector<Eigen::Index> hidden;
  for (long long h : args.integer_list("hidden", 1, kMaxWidth))
    hidden.push_back(static_cast<Eigen::Index>(h));
  return std::make_unique<MlpT<T>>(s.input_dim, std::move(hidden), s.num_classes, s.l2);
}

struct Registered {
  std::string usage;
  std::string help;
  ModelFactory factory;
};

using Registry = NameRegistry<Registered>;

// Checks a registration and adds it: the one path of the built-ins and the plug-ins.
void add(Registry& registry, std::string name, std::string usage, std::string help,
         ModelFactory factory) {
  if (!valid_registry_name(name))
    throw InputError("register_model: '" + name +
                     "' is not a model name (letters, digits, '_', '-', '.')");
  if (!factory.make_float)
    throw InputError("register_model: model '" + name + "' has no float factory (make_float)");
  const std::string taken = "register_model: model name '" + name +
                            "' registered twice (known: " + registry.known_names() + ")";
  if (!registry.add(std::move(name), Registered{std::move(usage), std::move(help), std::move(factory)}))
    throw InputError(taken);
}

void add_builtins(Registry& registry) {
  add(registry, "logistic", "logistic",
      "binary logistic regression, labels 0/1 (needs 2 classes); zero init",
      {&make_logistic<float>, &make_logistic<double>});
  add(registry, "softmax", "softmax",
      "multinomial softmax regression (C x d weights + C biases); zero init",
      {&make_softmax<float>, &make_softmax<double>});
  add(registry, "mlp", "mlp:hidden=H1[,H2...]",
      "ReLU multilayer perceptron with a softmax output; hidden = layer widths, each in "
      "[1, 1048576], required; He-normal init, zero biases",
      {&make_mlp<float>, &make_mlp<double>});
}

// Function-local statics, so that plug-ins registering from their own static initialisers
// never see the table unconstructed, and the built-ins are in it whenever anything can
// look a name up (both initialisations are thread-safe and run once).
Registry& registry() {
  static Registry table;
  static const bool with_builtins = (add_builtins(table), true);
  (void)with_builtins;
  return table;
}

}  // namespace

void register_model(std::string name, std::string usage, std::string help, ModelFactory factory) {
  add(registry(), std::move(name), std::move(usage), std::move(help), std::move(factory));
}

template <typename T>
std::unique_ptr<ModelT<T>> make_model(std::string_view spec, Eigen::Index input_dim,
                                      int num_classes, double l2) {
  SpecArgs args(parse_spec(spec, "model spec"), "model spec");
  if (input_dim < 1)
    args.fail("the data has " + std::to_string(input_dim) + " features; need at least 1");
  if (num_classes < 2)
    args.fail("the data has " + std::to_string(num_classes) + " classes; need at least 2");
  if (!(l2 >= 0) || !std::isfinite(l2))
    args.fail("L2 coefficient " + std::to_string(l2) + " must be finite and >= 0");
  const std::optional<Registered> entry = registry().find(args.name());
  if (!entry)
    args.fail("unknown model '" + args.name() + "' (known: " + registry().known_names() + ")");
  const ModelFactoryT<T>& make = [&]() -> const ModelFactoryT<T>& {
    if constexpr (std::is_same_v<T, float>)
      return entry->factory.make_float;
    else
      return entry->factory.make_double;
  }();
  if (!make) args.fail("model '" + args.name() + "' has no double-precision version");
  std::unique_ptr<ModelT<T>> model = make(args, ModelShape{input_dim, num_classes, l2});
  if (!model) args.fail("the factory of model '" + args.name() + "' returned no model");
  args.finish();
  return model;
}

template std::unique_ptr<ModelT<float>> make_model<float>(std::string_view, Eigen::Index, int,
                                                          double);
template std::unique_ptr<ModelT<double>> make_model<double>(std::string_view, Eigen::Index, int,
                                                            double);

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, e] : registry().entries()) names.push_back(name);
  return names;  // sorted by name
}

std::string model_help() {
  std::string text;
  for (const auto& [name, e] : registry().entries())
    text += "  " + e.usage + "\n      " + e.help + "\n";
  return text;
}

}  // namespace racesgd
