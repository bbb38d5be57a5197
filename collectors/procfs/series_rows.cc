#include "series_rows.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace nodepulse::collectors::procfs {

using pipeline::kNoSeries;
using pipeline::SeriesId;

size_t SeriesRows::Rebuild(const std::vector<std::string_view>& names,
                           pipeline::Pipeline& pipeline, MakeFn make) {
  ++rebuilds_;
  // Hashing is fine here: this runs when the set of rows changes, not per
  // cycle. A k8s node's net/dev has hundreds of veths, so no O(n^2) scan.
  absl::flat_hash_map<std::string_view, size_t> old_index;
  old_index.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) old_index.emplace(names_[i], i);

  std::vector<std::string> new_names;
  std::vector<SeriesId> new_ids(names.size() * stride_, kNoSeries);
  std::vector<uint8_t> new_active(names.size(), 0);
  std::vector<uint8_t> kept(names_.size(), 0);
  absl::flat_hash_set<std::string_view> seen;
  new_names.reserve(names.size());
  seen.reserve(names.size());

  for (size_t i = 0; i < names.size(); ++i) {
    new_names.emplace_back(names[i]);
    SeriesId* dst = &new_ids[i * stride_];
    // A name twice in one file would make two rows share (and later both
    // release) one series; the kernel never does it, so the copy is ignored.
    if (!seen.insert(names[i]).second) continue;
    if (auto it = old_index.find(names[i]); it != old_index.end()) {
      size_t j = it->second;
      kept[j] = 1;
      std::copy_n(&ids_[j * stride_], stride_, dst);
      new_active[i] = active_[j];
    } else {
      new_active[i] = make(i, dst) ? 1 : 0;
    }
  }

  size_t released = 0;
  for (size_t j = 0; j < names_.size(); ++j) {
    if (kept[j]) continue;
    for (size_t k = 0; k < stride_; ++k) {
      SeriesId id = ids_[j * stride_ + k];
      if (id != kNoSeries) {
        pipeline.Release(id);
        ++released;
      }
    }
  }
  names_ = std::move(new_names);
  ids_ = std::move(new_ids);
  active_ = std::move(new_active);
  return released;
}

void SeriesRows::Clear(pipeline::Pipeline& pipeline) {
  for (SeriesId id : ids_) {
    if (id != kNoSeries) pipeline.Release(id);
  }
  names_.clear();
  ids_.clear();
  active_.clear();
}

}  // namespace nodepulse::collectors::procfs
