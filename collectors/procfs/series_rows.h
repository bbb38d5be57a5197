// SeriesRows: the pipeline series of a list of named rows - CPUs in
// /proc/stat, devices in diskstats and net/dev, fields of meminfo - with a
// fixed number of series ("stride") per row.
//
// The per-cycle path never hashes or copies a name: the collector checks
// that row i of this cycle's file has the same name as row i last cycle
// (Matches(), a short memcmp), then writes values through ids(i). Only when a
// CPU is hot-plugged or a device comes or goes does it call Rebuild(), which
// keeps the ids of rows that are still there (so their history continues),
// interns the new ones and releases the vanished ones.
//
// Ownership: holds SeriesIds, not the series; Clear() releases them.
// Thread-safety: none; the collection thread owns it.
#ifndef NODEPULSE_COLLECTORS_PROCFS_SERIES_ROWS_H_
#define NODEPULSE_COLLECTORS_PROCFS_SERIES_ROWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors::procfs {

class SeriesRows {
 public:
  explicit SeriesRows(size_t stride) : stride_(stride) {}

  size_t size() const { return names_.size(); }
  size_t stride() const { return stride_; }
  bool Matches(size_t row, std::string_view name) const {
    return row < names_.size() && names_[row] == name;
  }
  // Inactive rows (an excluded disk, a duplicate name) have no series and
  // exist only so that positions keep lining up with the file.
  bool active(size_t row) const { return active_[row] != 0; }
  const pipeline::SeriesId* ids(size_t row) const { return &ids_[row * stride_]; }

  // True when `rows` (anything with a .name) are exactly our rows, in order.
  template <typename Row>
  bool MatchesAll(const std::vector<Row>& rows) const {
    if (rows.size() != names_.size()) return false;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (names_[i] != rows[i].name) return false;
    }
    return true;
  }

  // Makes the rows equal to `names`. For a name not held before,
  // make(index into names, ids) fills `stride` ids (initialised to kNoSeries)
  // and returns whether the row is active. Returns the number of series
  // released. Allocates; call only when MatchesAll() is false.
  using MakeFn = absl::FunctionRef<bool(size_t index, pipeline::SeriesId* ids)>;
  size_t Rebuild(const std::vector<std::string_view>& names, pipeline::Pipeline& pipeline,
                 MakeFn make);

  void Clear(pipeline::Pipeline& pipeline);

  uint64_t rebuilds() const { return rebuilds_; }

 private:
  size_t stride_;
  std::vector<std::string> names_;
  std::vector<pipeline::SeriesId> ids_;  // names_.size() * stride_
  std::vector<uint8_t> active_;
  uint64_t rebuilds_ = 0;
};

}  // namespace nodepulse::collectors::procfs

#endif  // NODEPULSE_COLLECTORS_PROCFS_SERIES_ROWS_H_
