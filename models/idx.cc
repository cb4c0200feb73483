#include "models/idx.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace racesgd {
namespace {

constexpr std::size_t kMaxIdxDims = 16;  // MNIST uses 3; more is a corrupt header

std::uint32_t read_be32(std::string_view bytes, std::size_t at) {
  const auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

[[noreturn]] void fail(const std::string& name, std::uint64_t offset, const std::string& problem) {
  throw InputError(name + ": byte " + std::to_string(offset) + ": " + problem);
}

std::string hex_byte(unsigned v) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[(v >> 4) & 0xF] + digits[v & 0xF];
}

}  // namespace

IdxHeader parse_idx_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 4) {
    fail(name, bytes.size(),
         "file ends inside the 4-byte IDX magic (" + std::to_string(bytes.size()) +
             " bytes in all)");
  }
  const unsigned b0 = static_cast<unsigned char>(bytes[0]);
  const unsigned b1 = static_cast<unsigned char>(bytes[1]);
  const unsigned type = static_cast<unsigned char>(bytes[2]);
  const unsigned ndims = static_cast<unsigned char>(bytes[3]);
  if (b0 != 0 || b1 != 0) {
    fail(name, 0,
         "wrong IDX magic " + hex_byte(b0) + hex_byte(b1).substr(2) + hex_byte(type).substr(2) +
             hex_byte(ndims).substr(2) + " (expected 0x000008NN; is this an IDX file?)");
  }
  if (type != 0x08) {
    fail(name, 2,
         "IDX element type " + hex_byte(type) + " is not supported (only 0x08, unsigned byte)");
  }
  if (ndims == 0 || ndims > kMaxIdxDims) {
    fail(name, 3,
         "IDX header declares " + std::to_string(ndims) + " dimensions (expected 1 to " +
             std::to_string(kMaxIdxDims) + ")");
  }
  IdxHeader h;
  h.data_offset = 4 + 4 * std::size_t{ndims};
  if (bytes.size() < h.data_offset) {
    fail(name, bytes.size(),
         "file ends inside the IDX header (" + std::to_string(ndims) + " dimension sizes need " +
             std::to_string(h.data_offset) + " bytes)");
  }
  h.dims.reserve(ndims);
  const std::uint64_t available = bytes.size() - h.data_offset;
  std::uint64_t count = 1;
  for (unsigned i = 0; i < ndims; ++i) {
    const std::uint32_t d = read_be32(bytes, 4 + 4 * std::size_t{i});
    if (d == 0) fail(name, 4 + 4 * std::uint64_t{i}, "dimension " + std::to_string(i) + " is 0");
    h.dims.push_back(d);
  }
  for (const std::uint32_t d : h.dims) {
    // Each factor is >= 1, so once the running product exceeds the bytes present it can
    // only grow: stop there (or at overflow) before anything is allocated.
    const bool overflow = __builtin_mul_overflow(count, std::uint64_t{d}, &count);
    if (overflow || count > available) {
      std::string shape;
      for (const std::uint32_t e : h.dims)
        shape += (shape.empty() ? "" : " x ") + std::to_string(e);
      fail(name, bytes.size(),
           "truncated: the header's sizes " + shape + " need more than " +
               std::to_string(available) + " bytes of data, but the file ends here");
    }
  }
  if (count != available) {
    fail(name, h.data_offset + count,
         std::to_string(available - count) +
             " bytes of data past the end declared by the header (" + std::to_string(count) +
             " elements)");
  }
  h.count = count;
  return h;
}

Dataset parse_idx(std::string_view images, const std::string& images_name, std::string_view labels,
                  const std::string& labels_name, const IdxOptions& options) {
  const IdxHeader ih = parse_idx_header(images, images_name);
  const IdxHeader lh = parse_idx_header(labels, labels_name);
  if (ih.dims.size() < 2) {
    fail(images_name, 3,
         "an images file needs at least 2 dimensions (n x features), this one has " +
             std::to_string(ih.dims.size()));
  }
  if (lh.dims.size() != 1) {
    fail(labels_name, 3,
         "a labels file needs exactly 1 dimension, this one has " + std::to_string(lh.dims.size()));
  }
  const std::uint64_t n = ih.dims[0];
  if (lh.dims[0] != n) {
    fail(labels_name, 4,
         "holds " + std::to_string(lh.dims[0]) + " labels but " + images_name + " holds " +
             std::to_string(n) + " images");
  }
  const std::uint64_t d = ih.count / n;
  if (options.num_classes < 0 || options.num_classes > 256) {
    throw InputError(labels_name + ": IDX num_classes " + std::to_string(options.num_classes) +
                     " must lie in 0..256");
  }
  // ih.count bytes are present, so n * d floats is 4x what is already in memory; still
  // refuse beyond the cap.
  if (ih.count > options.max_bytes / sizeof(float)) {
    fail(images_name, 0,
         std::to_string(n) + " x " + std::to_string(d) + " float features would exceed the " +
             std::to_string(options.max_bytes) + "-byte limit");
  }

  int num_classes = options.num_classes;
  unsigned max_label = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const unsigned v = static_cast<unsigned char>(labels[lh.data_offset + i]);
    if (options.num_classes > 0 && v >= static_cast<unsigned>(options.num_classes)) {
      fail(labels_name, lh.data_offset + i,
           "label " + std::to_string(v) + " of sample " + std::to_string(i) +
               " is out of range (expected 0.." + std::to_string(options.num_classes - 1) + ")");
    }
    max_label = std::max(max_label, v);
  }
  if (num_classes == 0) num_classes = static_cast<int>(max_label) + 1;

  Dataset data;
  data.name = images_name;
  data.num_classes = num_classes;
  data.x.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  data.y.resize(n);
  const auto* src = reinterpret_cast<const unsigned char*>(images.data() + ih.data_offset);
  float* dst = data.x.data();
  for (std::uint64_t k = 0; k < ih.count; ++k) dst[k] = static_cast<float>(src[k]);
  for (std::uint64_t i = 0; i < n; ++i) {
    data.y[i] = static_cast<unsigned char>(labels[lh.data_offset + i]);
  }
  return data;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                 const IdxOptions& options, std::string name) {
  const std::string images = detail::read_file_bytes(images_path, options.max_bytes);
  const std::string labels = detail::read_file_bytes(labels_path, options.max_bytes);
  Dataset data = parse_idx(images, images_path, labels, labels_path, options);
  // Not a ?: — its common type is const std::string, which would copy `name`.
  if (name.empty()) {
    data.name = images_path;
  } else {
    data.name = std::move(name);
  }
  return data;
}

}  // namespace racesgd
