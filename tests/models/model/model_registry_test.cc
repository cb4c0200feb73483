// The model registry as a plug-in API: a model registered by name is built from its spec
// string like the built-ins (which register through the same call), and every misuse --
// a name taken, a malformed name, an unknown name, a bad spec -- is an InputError naming it.
#include <catch2/catch.hpp>
#include <mutex>

#include "core/error.h"
#include "models/mlp.h"
#include "models/model_registry.h"

using Catch::Contains;
using racesgd::InputError;
using racesgd::make_model;
using racesgd::ModelShape;
using racesgd::SpecArgs;

namespace {

// "test-mlp:width=W": an MLP with one hidden layer of W units, in a plug-in's clothes.
template <typename T>
std::unique_ptr<racesgd::ModelT<T>> make_plugin_mlp(SpecArgs& args, const ModelShape& s) {
  const long long width = args.integer("width", 4, 1, 64);
  return std::make_unique<racesgd::MlpT<T>>(
      s.input_dim, std::vector<Eigen::Index>{static_cast<Eigen::Index>(width)}, s.num_classes, s.l2);
}

// Registers the test's plug-ins once per process (Catch runs several test cases in one).
// Their names sort after the built-ins, so "known: logistic, mlp, softmax" (model_test.cc)
// holds in a process that registered them.
void register_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    racesgd::register_model("test-mlp", "test-mlp:width=W", "a test plug-in",
                            {&make_plugin_mlp<float>, &make_plugin_mlp<double>});
    racesgd::register_model("test-float", "test-float", "float only",
                            {&make_plugin_mlp<float>, {}});
  });
}

}  // namespace

TEST_CASE("a registered model is built from its spec string", "[model][registry][plugin]") {
  register_plugins();
  auto m = make_model<float>("test-mlp:width=5", 3, 4, 0.0);
  CHECK(m->num_params() == (3 * 5 + 5) + (5 * 4 + 4));
  CHECK(make_model<double>("test-mlp", 3, 4, 0.0)->num_params() == (3 * 4 + 4) + (4 * 4 + 4));
  const std::vector<std::string> names = racesgd::model_names();
  CHECK(names == std::vector<std::string>{"logistic", "mlp", "softmax", "test-float", "test-mlp"});
  CHECK_THAT(racesgd::model_help(), Contains("test-mlp:width=W\n      a test plug-in"));
  CHECK_THAT(racesgd::model_help(), Contains("mlp:hidden=H1[,H2...]"));  // built-ins too
}

TEST_CASE("registering a name twice or a malformed one is an InputError",
          "[model][registry][plugin]") {
  register_plugins();
  const racesgd::ModelFactory f{&make_plugin_mlp<float>, &make_plugin_mlp<double>};
  CHECK_THROWS_MATCHES(racesgd::register_model("test-mlp", "u", "h", f), InputError,
                       Catch::Matchers::Predicate<InputError>([](const InputError& e) {
                         const std::string m = e.what();
                         return m.find("'test-mlp' registered twice") != std::string::npos;
                       }));
  CHECK_THROWS_WITH(racesgd::register_model("softmax", "u", "h", f),
                    Contains("'softmax' registered twice"));
  CHECK_THROWS_WITH(racesgd::register_model("fm:x", "u", "h", f), Contains("'fm:x' is not a model name"));
  CHECK_THROWS_WITH(racesgd::register_model("", "u", "h", f), Contains("is not a model name"));
  CHECK_THROWS_WITH(racesgd::register_model("no-factory", "u", "h", {}),
                    Contains("'no-factory' has no float factory"));
  // A failed registration leaves the registry as it was.
  CHECK_THROWS_WITH(make_model<float>("no-factory", 3, 2, 0), Contains("unknown model"));
}

TEST_CASE("unknown names and bad specs of a plug-in are InputErrors naming the spec",
          "[model][registry][plugin]") {
  register_plugins();
  CHECK_THROWS_WITH(make_model<float>("tset-mlp", 3, 2, 0),
                    Contains("unknown model 'tset-mlp'") &&
                        Contains("known: logistic, mlp, softmax, test-float, test-mlp"));
  CHECK_THROWS_WITH(make_model<float>("test-mlp:width=0", 3, 2, 0),
                    Contains("test-mlp:width=0") && Contains("width"));
  CHECK_THROWS_WITH(make_model<float>("test-mlp:depth=2", 3, 2, 0),
                    Contains("test-mlp:depth=2") && Contains("unknown parameter 'depth'"));
  CHECK_THROWS_WITH(make_model<float>("test-mlp", 3, 1, 0), Contains("need at least 2"));
  CHECK(make_model<float>("test-float", 3, 2, 0) != nullptr);
  CHECK_THROWS_WITH(make_model<double>("test-float", 3, 2, 0),
                    Contains("'test-float' has no double-precision version"));
}
