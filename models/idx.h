// IDX files (the MNIST format), plain or gzip: a big-endian u32 magic 0x000008NN (element
// type 0x08 = unsigned byte, NN = number of dimensions), NN big-endian u32 sizes, then the
// elements in row-major order. A dataset is an images file (n x d1 x d2 ..., flattened to
// n x (d1*d2*...)) plus a labels file (n). Features are the raw bytes 0..255 as floats;
// scaling is a separate step (transforms.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/dataset.h"
#include "models/detail/read_file.h"

namespace racesgd {

struct IdxOptions {
  /// Number of classes; every label must be below it. 0: the largest label + 1.
  int num_classes = 0;
  /// Largest decompressed file and largest float feature matrix accepted, in bytes.
  std::uint64_t max_bytes = detail::kDefaultMaxInputBytes;
};

/// A validated IDX header: the sizes, where the elements start, and how many there are.
struct IdxHeader {
  std::vector<std::uint32_t> dims;
  std::size_t data_offset = 0;  // bytes
  std::uint64_t count = 0;      // product of dims == bytes after data_offset
};

/// Parses and validates the header of an IDX file held in `bytes` (`name` is used in error
/// messages). Throws InputError "<name>: byte <offset>: <problem>" on a short header, a
/// wrong magic, an element type other than unsigned byte, zero dimensions, or sizes whose
/// product (computed without overflow) disagrees with the number of bytes that follow.
/// Does not allocate beyond the dims vector.
IdxHeader parse_idx_header(std::string_view bytes, const std::string& name);

/// Builds a dataset from in-memory images and labels files (what load_idx does after
/// reading them; exposed for fuzzing). The images file needs >= 2 dimensions, the labels
/// file exactly 1, with equal first sizes. Throws InputError naming the file and byte
/// offset on any disagreement or a label >= num_classes. Allocates the n x d matrix only
/// after every size check has passed.
Dataset parse_idx(std::string_view images, const std::string& images_name, std::string_view labels,
                  const std::string& labels_name, const IdxOptions& options = {});

/// Reads an images file and a labels file (each plain or gzip) into a dataset named
/// `name` (empty: the images path). Throws InputError as parse_idx, or when a file is
/// missing or unreadable.
Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                 const IdxOptions& options = {}, std::string name = "");

}  // namespace racesgd
