#include "models/eigen_setup.h"

#include <Eigen/Core>
#include <vector>

#include "core/error.h"
#include "core/units.h"

namespace racesgd {
namespace {

std::ptrdiff_t parse_bytes(std::string_view item, std::string_view what) {
  std::ptrdiff_t scale = 1;
  if (!item.empty() && (item.back() == 'K' || item.back() == 'k')) scale = 1 << 10;
  if (!item.empty() && (item.back() == 'M' || item.back() == 'm')) scale = 1 << 20;
  if (scale != 1) item.remove_suffix(1);
  long long v = parse_int(item, what);
  if (v <= 0) throw InputError(std::string(what) + ": cache sizes must be positive");
  return static_cast<std::ptrdiff_t>(v) * scale;
}

std::string bytes_text(std::ptrdiff_t b) {
  if (b % (1 << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b % (1 << 10) == 0) return std::to_string(b >> 10) + "K";
  return std::to_string(b);
}

}  // namespace

EigenCacheSizes parse_eigen_cache_sizes(std::string_view text, std::string_view what, bool* use) {
  if (text == "auto") {
    *use = false;
    return {};
  }
  std::vector<std::string_view> items;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == ',') {
      items.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  if (items.size() != 3)
    throw InputError(std::string(what) + ": '" + std::string(text) +
                     "' must be 'auto' or three sizes L1,L2,L3 such as 48K,1M,32M");
  *use = true;
  return {parse_bytes(items[0], what), parse_bytes(items[1], what), parse_bytes(items[2], what)};
}

void apply_eigen_cache_sizes(const EigenCacheSizes& sizes) {
  Eigen::setCpuCacheSizes(sizes.l1, sizes.l2, sizes.l3);
}

std::string describe_eigen_cache_sizes() {
  return bytes_text(Eigen::l1CacheSize()) + "," + bytes_text(Eigen::l2CacheSize()) + "," +
         bytes_text(Eigen::l3CacheSize());
}

}  // namespace racesgd
