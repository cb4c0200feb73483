#include "worker/gradient_task.h"

#include "core/rng.h"

namespace racesgd {

namespace {
// One load per 64-byte line of [data, data + bytes), kept from being optimised away.
void read_through(const void* data, std::size_t bytes) {
  constexpr std::size_t kLine = 64;
  const auto* p = static_cast<const unsigned char*>(data);
  unsigned char sink = 0;
  for (std::size_t i = 0; i < bytes; i += kLine) sink = static_cast<unsigned char>(sink ^ p[i]);
  if (bytes > 0) sink = static_cast<unsigned char>(sink ^ p[bytes - 1]);
  asm volatile("" : : "r"(sink));
}
}  // namespace

GradientTask::GradientTask(const Model& model, const Dataset& train, std::size_t batch,
                           std::uint64_t run_seed, std::size_t learner)
    : model_(model),
      batch_(batch),
      sampler_(train, batch, derive_seed(run_seed, learner, StreamPurpose::kBatches)),
      workspace_(model.make_workspace(static_cast<Eigen::Index>(batch))) {}

void GradientTask::prepare() {
  if (ready_) return;
  before_ready_ = sampler_.state();
  ready_.emplace(sampler_.next());
}

bool GradientTask::warm() const {
  if (!ready_) return false;
  const BatchView<float>& b = *ready_;
  // The sampler's buffers: rows of d floats one after the other (outerStride d).
  read_through(b.x.data(), static_cast<std::size_t>(b.x.rows() * b.x.outerStride()) * sizeof(float));
  read_through(b.y.data(), b.y.size_bytes());
  return true;
}

double GradientTask::compute(std::span<const float> w, std::span<float> grad) {
  return compute(w, grad, *workspace_);
}

double GradientTask::compute(std::span<const float> w, std::span<float> grad, Workspace& scratch) {
  prepare();
  const BatchView<float> b = *ready_;
  ready_.reset();
  return model_.loss_and_gradient(w, b, grad, scratch);
}

}  // namespace racesgd
