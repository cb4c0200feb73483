#include "models/model_registry.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "core/spec.h"
#include "models/logistic.h"
#include "models/mlp.h"

namespace racesgd {
namespace {

constexpr long long kMaxWidth = 1 << 20;  // a hidden layer wider than this is a typo

struct ModelShape {
  Eigen::Index input_dim;
  int num_classes;
  double l2;
};

template <typename T>
std::unique_ptr<ModelT<T>> make_logistic(SpecArgs& args, const ModelShape& s) {
  if (s.num_classes != 2)
    args.fail("logistic regression needs exactly 2 classes (labels 0/1) but the data has " +
              std::to_string(s.num_classes) + "; use 'softmax'");
  args.finish();
  return std::make_unique<LogisticRegressionT<T>>(s.input_dim, s.l2);
}

template <typename T>
std::unique_ptr<ModelT<T>> make_softmax(SpecArgs& args, const ModelShape& s) {
  args.finish();
  return std::make_unique<MlpT<T>>(s.input_dim, std::vector<Eigen::Index>{}, s.num_classes,
                                   s.l2);
}

template <typename T>
std::unique_ptr<ModelT<T>> make_mlp(SpecArgs& args, const ModelShape& s) {
  std::vector<Eigen::Index> hidden;
  for (long long h : args.integer_list("hidden", 1, kMaxWidth))
    hidden.push_back(static_cast<Eigen::Index>(h));
  args.finish();
  return std::make_unique<MlpT<T>>(s.input_dim, std::move(hidden), s.num_classes, s.l2);
}

struct Entry {
  std::string_view name;
  std::string_view usage;
  std::string_view help;
  std::unique_ptr<ModelT<float>> (*make_float)(SpecArgs&, const ModelShape&);
  std::unique_ptr<ModelT<double>> (*make_double)(SpecArgs&, const ModelShape&);
};

// To add a model: implement ModelT<T> for float and double, then add one row here.
constexpr std::array<Entry, 3> kModels{{
    {"logistic", "logistic",
     "binary logistic regression, labels 0/1 (needs 2 classes); zero init",
     &make_logistic<float>, &make_logistic<double>},
    {"softmax", "softmax", "multinomial softmax regression (C x d weights + C biases); zero init",
     &make_softmax<float>, &make_softmax<double>},
    {"mlp", "mlp:hidden=H1[,H2...]",
     "ReLU multilayer perceptron with a softmax output; hidden = layer widths, each in "
     "[1, 1048576], required; He-normal init, zero biases",
     &make_mlp<float>, &make_mlp<double>},
}};

}  // namespace

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
  const ModelShape shape{input_dim, num_classes, l2};
  for (const Entry& e : kModels) {
    if (e.name != args.name()) continue;
    if constexpr (std::is_same_v<T, float>)
      return e.make_float(args, shape);
    else
      return e.make_double(args, shape);
  }
  std::string known;
  for (const std::string& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  args.fail("unknown model '" + args.name() + "' (known: " + known + ")");
}

template std::unique_ptr<ModelT<float>> make_model<float>(std::string_view, Eigen::Index, int,
                                                          double);
template std::unique_ptr<ModelT<double>> make_model<double>(std::string_view, Eigen::Index, int,
                                                            double);

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const Entry& e : kModels) names.emplace_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string model_help() {
  std::string text;
  for (const Entry& e : kModels) {
    text += "  ";
    text += e.usage;
    text += "\n      ";
    text += e.help;
    text += "\n";
  }
  return text;
}

}  // namespace racesgd
