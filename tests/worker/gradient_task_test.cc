// GradientTask::prepare (issue 13): gathering a minibatch ahead changes when the rows are
// copied, never which rows come or what the gradient is; checkpoints see a prepared,
// uncomputed minibatch as still to come.
#include "worker/gradient_task.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/model_registry.h"

using namespace racesgd;

namespace {

// 50 rows of 3 features, 3 classes, values that differ per row so minibatches differ.
Dataset make_rows() {
  Dataset d;
  d.name = "fifty rows";
  d.x = MatrixRM<float>(50, 3);
  for (Eigen::Index i = 0; i < 50; ++i)
    for (Eigen::Index j = 0; j < 3; ++j) d.x(i, j) = static_cast<float>((i * 7 + j * 3) % 11) / 11.0f;
  d.y.resize(50);
  for (std::size_t i = 0; i < 50; ++i) d.y[i] = static_cast<std::int32_t>(i % 3);
  d.num_classes = 3;
  return d;
}

struct Task {
  explicit Task(const Dataset& data, const char* spec = "softmax", std::size_t learner = 1)
      : model(make_model<float>(spec, 3, 3, 0.0)), task(*model, data, 8, 42, learner) {
    w.resize(static_cast<std::size_t>(model->num_params()));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 5);
    grad.resize(w.size());
  }
  double compute() { return task.compute(w, grad); }
  std::unique_ptr<Model> model;
  GradientTask task;
  std::vector<float> w, grad;
};

}  // namespace

TEST_CASE("gradient task: prepared minibatches are the same stream as unprepared ones",
          "[gradient_task]") {
  const Dataset data = make_rows();
  Task plain(data), ahead(data);
  // 20 batches of 8 cross three epochs of 50 rows (a batch completed from the next epoch).
  for (int k = 0; k < 20; ++k) {
    INFO("minibatch " << k);
    CHECK_FALSE(ahead.task.prepared());
    ahead.task.prepare();
    CHECK(ahead.task.prepared());
    ahead.task.prepare();  // a second prepare keeps the first minibatch
    const double a = ahead.compute();
    CHECK_FALSE(ahead.task.prepared());  // compute used it up
    const double p = plain.compute();
    CHECK(a == p);
    CHECK(ahead.grad == plain.grad);
  }
}

TEST_CASE("gradient task: a prepared minibatch is still to come in the sampler state",
          "[gradient_task]") {
  const Dataset data = make_rows();
  Task t(data), resumed(data);
  t.compute();
  const MinibatchSampler::State before = t.task.sampler_state();
  t.task.prepare();
  const MinibatchSampler::State after = t.task.sampler_state();
  CHECK(after.position == before.position);
  CHECK(after.epoch == before.epoch);
  // A task resumed from that state computes the prepared minibatch next.
  resumed.task.prepare();  // dropped by the restore
  resumed.task.restore_sampler(after);
  const double expect = t.compute();
  CHECK(resumed.compute() == expect);
  CHECK(resumed.grad == t.grad);
}

TEST_CASE("gradient task: a gradient computed in another workspace is the same, bit for bit",
          "[gradient_task]") {
  const Dataset data = make_rows();
  for (const char* spec : {"softmax", "mlp:hidden=5,4"}) {
    INFO(spec);
    Task own(data, spec), shared(data, spec), other(data, spec, 2);
    // One workspace for two learners' streams in turn, as the restarting thread keeps.
    const std::unique_ptr<Workspace> scratch = shared.model->make_workspace(8);
    for (int k = 0; k < 12; ++k) {
      INFO("minibatch " << k);
      const double a = own.compute();
      const double b = shared.task.compute(shared.w, shared.grad, *scratch);
      CHECK(a == b);
      CHECK(own.grad == shared.grad);
      other.task.compute(other.w, other.grad, *scratch);  // leaves another batch's values in it
    }
  }
}

TEST_CASE("gradient task: warm() reads a prepared minibatch and changes nothing", "[gradient_task]") {
  const Dataset data = make_rows();
  Task plain(data), warmed(data);
  CHECK_FALSE(warmed.task.warm());  // nothing prepared: nothing to read
  CHECK_FALSE(warmed.task.prepared());
  for (int k = 0; k < 10; ++k) {
    INFO("minibatch " << k);
    warmed.task.prepare();
    CHECK(warmed.task.warm());
    CHECK(warmed.task.prepared());  // still to compute
    const double a = warmed.compute();
    CHECK(a == plain.compute());
    CHECK(warmed.grad == plain.grad);
  }
}
