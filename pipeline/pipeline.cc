#include "nodepulse/pipeline/pipeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "internal/history.h"
#include "internal/kernels.h"
#include "internal/labels.h"
#include "nodepulse/base/mutex.h"
#include "internal/snapshot_pool.h"

namespace nodepulse::pipeline {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Ids are handed out in blocks of kRowBlock, each block holding one kind of
// series, so the history series of a block are contiguous in the cycle row
// and the rings commit them with memcpy / one vector pass instead of a
// per-value gather (see internal/history.h). Rows grow a block at a time,
// never per series, so growth is rare and visible in pipeline_bytes.
constexpr size_t kRowBlock = internal::History::kBlock;
enum SeriesKind : uint8_t { kLatestOnly = 0, kHistoryGauge = 1, kHistoryCounter = 2 };
// last_seen_ of a series interned but not through a cycle yet: its expiry
// clock starts at its first EndCycle, not at intern time.
constexpr double kPending = std::numeric_limits<double>::infinity();
// Expiry is checked every this many cycles: a sweep reads every series'
// catalog entry, and expiry is minutes, so checking each second buys nothing.
constexpr uint64_t kExpirySweepCycles = 16;
// A history block with no live series for this many cycles gives its ring
// columns back (History::RemoveBlock). The delay keeps a container that is
// replaced at once (a restart, a rolling update) from costing a shrink and
// a regrow of every ring.
constexpr uint64_t kBlockReleaseCycles = 32;
constexpr uint8_t kFreeBlock = 3;  // id block kind: given back, reusable

size_t LabelsBytes(const Labels& labels) {
  size_t b = labels.capacity() * sizeof(Label);
  for (const Label& l : labels) b += l.name.capacity() + l.value.capacity();
  return b;
}
// Bytes of one copy of the catalog, without the rendered label blocks,
// which every copy shares (Impl::RenderedBytes counts them once).
size_t CatalogBytes(const Catalog& c) {
  size_t b = sizeof(Catalog) + c.series.capacity() * sizeof(Catalog::Series) +
             c.entities.capacity() * sizeof(Catalog::Entity) +
             c.metrics.capacity() * sizeof(MetricSpec);
  for (const auto& s : c.series) b += LabelsBytes(s.extra);
  for (const auto& e : c.entities) b += LabelsBytes(e.labels);
  for (const auto& ids : c.by_metric) b += ids.capacity() * sizeof(SeriesId);
  return b;
}

}  // namespace

Labels Catalog::LabelsOf(SeriesId id) const {
  Labels out;
  if (id >= series.size()) return out;
  const Series& s = series[id];
  if (s.entity != kNodeEntity && s.entity < entities.size()) {
    out = entities[s.entity].labels;
  }
  out.insert(out.end(), s.extra.begin(), s.extra.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  return out;
}

class Pipeline::Impl {
 public:
  explicit Impl(Options o)
      : options(std::move(o)), history(options.tiers), pool(internal::SnapshotPool::Create()) {}

  Options options;
  internal::History history;
  std::shared_ptr<internal::SnapshotPool> pool;
  // By SeriesId: timestamp of the last cycle with a sample (kPending before
  // the first cycle, NaN for free ids, which never expire). Sized like row_.
  std::vector<double> last_seen;
  Catalog catalog;  // the working copy; published copies are immutable
  absl::flat_hash_map<std::string, MetricId> metric_by_name;
  absl::flat_hash_map<std::string, SeriesId> series_by_key;
  std::vector<std::vector<SeriesId>> series_of_entity;  // by EntityId
  // Per SeriesKind: released ids as a min-heap (the lowest is reused
  // first, so after churn the newest blocks drain and can be given back),
  // and the next never-used id of the open block of that kind (kNoSeries:
  // none open).
  std::vector<SeriesId> free_series[3];
  SeriesId next_id[3] = {kNoSeries, kNoSeries, kNoSeries};
  size_t id_blocks = 0;
  // By id block: its SeriesKind (kFreeBlock once given back), live series,
  // and the cycle its last series was released.
  std::vector<uint8_t> block_kind;
  std::vector<uint32_t> block_live;
  std::vector<uint64_t> block_empty_since;
  std::vector<size_t> free_id_blocks;  // given back, reused before growing
  uint64_t blocks_released = 0;

  // A free id of this kind, opening a new block (and growing the row, the
  // catalog and, for history kinds, every ring) when none is left.
  SeriesId AllocateId(SeriesKind kind, std::vector<double>& row) {
    auto& heap = free_series[kind];
    if (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      SeriesId id = heap.back();
      heap.pop_back();
      return id;
    }
    if (next_id[kind] == kNoSeries || next_id[kind] % kRowBlock == 0) {
      size_t block = 0;
      if (!free_id_blocks.empty()) {
        auto lowest = std::min_element(free_id_blocks.begin(), free_id_blocks.end());
        block = *lowest;
        free_id_blocks.erase(lowest);
      } else {
        block = id_blocks++;
        const size_t want = (block + 1) * kRowBlock;
        // reserve() first: exact block growth, so bytes stay predictable.
        row.reserve(want);
        row.resize(want, kNaN);
        last_seen.reserve(want);
        last_seen.resize(want, kNaN);
        catalog.series.resize(want);
        block_kind.resize(block + 1, kFreeBlock);
        block_live.resize(block + 1, 0);
        block_empty_since.resize(block + 1, 0);
      }
      const size_t first = block * kRowBlock;
      block_kind[block] = kind;
      block_live[block] = 0;
      block_empty_since[block] = cycles;
      if (kind != kLatestOnly) {
        history.AddBlock(static_cast<SeriesId>(first), kind == kHistoryCounter);
      }
      next_id[kind] = static_cast<SeriesId>(first);
    }
    return next_id[kind]++;
  }

  // Gives back id blocks empty for kBlockReleaseCycles: their ids leave the
  // free list, a history block's ring columns are freed, and the id block
  // can later open for any kind. Free blocks at the top of the id space are
  // cut off the row, the expiry clocks and the catalog, so after container
  // churn the id space shrinks back too (freed ids are reused lowest first,
  // which is what drains the top).
  void ReleaseEmptyBlocks(std::vector<double>& row) {
    for (size_t b = 0; b < block_kind.size(); ++b) {
      const uint8_t kind = block_kind[b];
      if (kind == kFreeBlock || block_live[b] != 0 ||
          cycles - block_empty_since[b] < kBlockReleaseCycles) {
        continue;
      }
      const SeriesId first = static_cast<SeriesId>(b * kRowBlock);
      const SeriesId end = first + static_cast<SeriesId>(kRowBlock);
      auto& heap = free_series[kind];
      heap.erase(std::remove_if(heap.begin(), heap.end(),
                                [&](SeriesId id) { return id >= first && id < end; }),
                 heap.end());
      std::make_heap(heap.begin(), heap.end(), std::greater<>());
      if (next_id[kind] != kNoSeries && next_id[kind] > first && next_id[kind] <= end) {
        next_id[kind] = kNoSeries;
      }
      if (kind != kLatestOnly) {
        history.RemoveBlock(first);
        ++blocks_released;
      }
      block_kind[b] = kFreeBlock;
      free_id_blocks.push_back(b);
    }
    size_t keep = id_blocks;
    while (keep > 0 && block_kind[keep - 1] == kFreeBlock) --keep;
    if (keep == id_blocks) return;
    free_id_blocks.erase(std::remove_if(free_id_blocks.begin(), free_id_blocks.end(),
                                        [&](size_t b) { return b >= keep; }),
                         free_id_blocks.end());
    const size_t n = keep * kRowBlock;
    auto cut = [n](auto& v) {
      v.resize(n);
      v.shrink_to_fit();
    };
    cut(row);
    cut(last_seen);
    cut(catalog.series);
    block_kind.resize(keep);
    block_live.resize(keep);
    block_empty_since.resize(keep);
    id_blocks = keep;
    catalog_dirty = true;
    // What the churn grew and erase() does not give back.
    if (series_by_key.size() * 4 < series_by_key.bucket_count()) series_by_key.rehash(0);
    for (auto& ids : catalog.by_metric) {
      if (ids.capacity() > 2 * ids.size() + 64) ids.shrink_to_fit();
    }
  }

  static SeriesKind KindOf(const MetricSpec& spec) {
    if (!spec.history) return kLatestOnly;
    return spec.kind == MetricKind::kCounter ? kHistoryCounter : kHistoryGauge;
  }
  std::vector<EntityId> free_entities;
  std::shared_ptr<const Catalog> published_catalog;
  bool catalog_dirty = true;
  uint64_t cycles = 0;
  uint64_t live_series = 0;
  uint64_t live_entities = 0;
  uint64_t dropped = 0;
  uint64_t created = 0;
  uint64_t expired = 0;
  size_t catalog_bytes = 0;  // estimate, refreshed when the catalog changes

  static std::string Key(MetricId m, EntityId e, const Labels& extra) {
    std::string k = absl::StrCat(m, "/", e, "/");
    for (const Label& l : extra) absl::StrAppend(&k, l.name, "=", l.value, "\xff");
    return k;
  }

  // By EntityId: the entity's labels alone, rendered once and shared by all
  // its series without extra labels (most of a container's ~25), which
  // render to exactly that. Reset when the entity's labels change.
  std::vector<std::shared_ptr<const std::string>> entity_rendered;

  void Render(SeriesId id) {
    Catalog::Series& s = catalog.series[id];
    if (s.extra.empty() && s.entity != kNodeEntity) {
      std::shared_ptr<const std::string>& shared = entity_rendered[s.entity];
      if (!shared) {
        shared = std::make_shared<const std::string>(internal::RenderLabels(catalog.LabelsOf(id)));
      }
      s.rendered = shared;
      return;
    }
    s.rendered = std::make_shared<const std::string>(internal::RenderLabels(catalog.LabelsOf(id)));
  }

  // The rendered blocks once each: per entity, plus those of series with
  // their own (extra labels, or the node's).
  size_t RenderedBytes() const {
    // make_shared's one block: control block (16) + the string object.
    auto bytes = [](const std::shared_ptr<const std::string>& r) {
      return r ? 16 + sizeof(std::string) + r->capacity() : 0;
    };
    size_t b = entity_rendered.capacity() * sizeof(entity_rendered[0]);
    for (const auto& r : entity_rendered) b += bytes(r);
    for (const Catalog::Series& s : catalog.series) {
      if (!s.extra.empty() || s.entity == kNodeEntity) b += bytes(s.rendered);
    }
    return b;
  }
};

namespace {
Options Sanitized(Options o) {
  if (!ValidateTiers(o.tiers).ok()) o.tiers = DefaultTiers();
  return o;
}
}  // namespace

Pipeline::Pipeline(Options options)
    : impl_(std::make_unique<Impl>(Sanitized(std::move(options)))) {}
Pipeline::~Pipeline() = default;

const internal::History& Pipeline::history() const { return impl_->history; }

absl::StatusOr<MetricId> Pipeline::RegisterMetric(const MetricSpec& spec) {
  if (!internal::ValidMetricName(spec.name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name '", spec.name, "'"));
  }
  auto it = impl_->metric_by_name.find(spec.name);
  if (it != impl_->metric_by_name.end()) {
    const MetricSpec& have = impl_->catalog.metrics[it->second];
    if (have.kind != spec.kind) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", spec.name, "' registered twice with different kinds"));
    }
    return it->second;
  }
  if (impl_->catalog.metrics.size() >= std::numeric_limits<MetricId>::max()) {
    return absl::ResourceExhaustedError("too many metric families");
  }
  MetricId id = static_cast<MetricId>(impl_->catalog.metrics.size());
  impl_->catalog.metrics.push_back(spec);
  impl_->catalog.by_metric.emplace_back();
  impl_->metric_by_name.emplace(spec.name, id);
  impl_->catalog_dirty = true;
  return id;
}

EntityId Pipeline::AddEntity(Labels labels) {
  Impl& m = *impl_;
  EntityId id;
  if (!m.free_entities.empty()) {
    id = m.free_entities.back();
    m.free_entities.pop_back();
  } else {
    id = static_cast<EntityId>(m.catalog.entities.size());
    m.catalog.entities.emplace_back();
    m.series_of_entity.emplace_back();
    m.entity_rendered.emplace_back();
  }
  m.entity_rendered[id].reset();
  m.catalog.entities[id].labels = std::move(labels);
  m.catalog.entities[id].alive = true;
  ++m.live_entities;
  m.catalog_dirty = true;
  return id;
}

void Pipeline::SetEntityLabels(EntityId entity, Labels labels) {
  Impl& m = *impl_;
  if (entity >= m.catalog.entities.size() || !m.catalog.entities[entity].alive) return;
  if (m.catalog.entities[entity].labels == labels) return;
  m.catalog.entities[entity].labels = std::move(labels);
  m.entity_rendered[entity].reset();
  for (SeriesId s : m.series_of_entity[entity]) m.Render(s);
  m.catalog_dirty = true;
}

void Pipeline::RemoveEntity(EntityId entity) {
  Impl& m = *impl_;
  if (entity >= m.catalog.entities.size() || !m.catalog.entities[entity].alive) return;
  std::vector<SeriesId> owned = std::move(m.series_of_entity[entity]);
  m.series_of_entity[entity].clear();
  for (SeriesId s : owned) Release(s);
  m.catalog.entities[entity].alive = false;
  // swap, not clear(): clear() keeps the vector's buffer, and entities are
  // only reused, never cut, so after container churn every dead entity kept
  // its ~6 labels' worth of buffer (heaptrack: +73 KB after 200 churned
  // cgroups, counted twice in catalog_bytes).
  Labels().swap(m.catalog.entities[entity].labels);
  m.entity_rendered[entity].reset();
  m.free_entities.push_back(entity);
  --m.live_entities;
  m.catalog_dirty = true;
}

SeriesId Pipeline::Intern(MetricId metric, EntityId entity, Labels extra) {
  Impl& m = *impl_;
  if (metric >= m.catalog.metrics.size()) return kNoSeries;
  if (entity != kNodeEntity &&
      (entity >= m.catalog.entities.size() || !m.catalog.entities[entity].alive)) {
    return kNoSeries;
  }
  std::string key = Impl::Key(metric, entity, extra);
  if (auto it = m.series_by_key.find(key); it != m.series_by_key.end()) return it->second;
  if (m.live_series >= m.options.max_series) {
    ++m.dropped;
    return kNoSeries;
  }
  const SeriesKind kind = Impl::KindOf(m.catalog.metrics[metric]);
  const SeriesId id = m.AllocateId(kind, row_);
  ++m.block_live[id / kRowBlock];
  m.last_seen[id] = kPending;
  Catalog::Series& s = m.catalog.series[id];
  s.metric = metric;
  s.entity = entity;
  s.extra = std::move(extra);
  s.generation++;
  s.alive = true;
  m.Render(id);
  if (kind != kLatestOnly) m.history.AddSeries(id, s.generation);
  m.catalog.by_metric[metric].push_back(id);
  if (entity != kNodeEntity) m.series_of_entity[entity].push_back(id);
  m.series_by_key.emplace(std::move(key), id);
  ++m.live_series;
  ++m.created;
  m.catalog_dirty = true;
  return id;
}

void Pipeline::Release(SeriesId id) {
  Impl& m = *impl_;
  if (id >= m.catalog.series.size() || !m.catalog.series[id].alive) return;
  Catalog::Series& s = m.catalog.series[id];
  m.series_by_key.erase(Impl::Key(s.metric, s.entity, s.extra));
  auto& list = m.catalog.by_metric[s.metric];
  list.erase(std::remove(list.begin(), list.end(), id), list.end());
  if (s.entity != kNodeEntity && s.entity < m.series_of_entity.size()) {
    auto& owned = m.series_of_entity[s.entity];
    owned.erase(std::remove(owned.begin(), owned.end(), id), owned.end());
  }
  s.alive = false;
  Labels().swap(s.extra);  // not clear(): a free id must not keep the buffer
  s.rendered.reset();
  row_[id] = kNaN;
  m.last_seen[id] = kNaN;
  m.history.RemoveSeries(id);
  auto& heap = m.free_series[Impl::KindOf(m.catalog.metrics[s.metric])];
  heap.push_back(id);
  std::push_heap(heap.begin(), heap.end(), std::greater<>());
  if (--m.block_live[id / kRowBlock] == 0) m.block_empty_since[id / kRowBlock] = m.cycles;
  --m.live_series;
  m.catalog_dirty = true;
}

void Pipeline::BeginCycle(int64_t timestamp_ms) {
  cycle_timestamp_ms_ = timestamp_ms;
  std::fill(row_.begin(), row_.end(), kNaN);
}

void Pipeline::EndCycle() {
  Impl& m = *impl_;
  m.history.Commit(cycle_timestamp_ms_, row_.data());
  ++m.cycles;

  if (m.options.series_expiry_ms > 0) {
    const double now = static_cast<double>(cycle_timestamp_ms_);
    internal::MarkSeen(m.last_seen.data(), row_.data(), now, row_.size());
    if (m.cycles % kExpirySweepCycles == 0) {
      const double cutoff = now - static_cast<double>(m.options.series_expiry_ms);
      for (SeriesId id = 0; id < m.catalog.series.size(); ++id) {
        // NaN (free) compares false and never expires.
        if (m.last_seen[id] < cutoff && m.catalog.series[id].alive) {
          Release(id);
          ++m.expired;
        }
      }
    }
  }

  if (m.cycles % kExpirySweepCycles == 0) m.ReleaseEmptyBlocks(row_);

  if (m.catalog_dirty || !m.published_catalog) {
    m.published_catalog = std::make_shared<const Catalog>(m.catalog);
    m.catalog_dirty = false;
    m.catalog_bytes = 2 * CatalogBytes(m.catalog) + m.RenderedBytes() +
                      m.series_by_key.bucket_count() * (sizeof(std::string) + sizeof(SeriesId) + 1);
    for (const auto& [key, id] : m.series_by_key) m.catalog_bytes += key.capacity();
  }
  // Reuse a snapshot no reader holds: copying the row into its existing
  // vector allocates nothing once it is big enough.
  internal::SnapshotPool::Slot* slot = m.pool->Acquire();
  Snapshot& snap = slot->snapshot;
  snap.timestamp_ms = cycle_timestamp_ms_;
  snap.cycle = m.cycles;
  snap.catalog = m.published_catalog;
  snap.values.assign(row_.begin(), row_.end());
  // The id space shrank (ReleaseEmptyBlocks): do not keep the old size in
  // every pooled snapshot.
  if (snap.values.capacity() > 2 * row_.size() + kRowBlock) snap.values.shrink_to_fit();
  std::shared_ptr<const Snapshot> published = m.pool->Publish(slot, m.pool);

  Stats st;
  st.series_live = m.live_series;
  st.series_dropped = m.dropped;
  st.series_created = m.created;
  st.series_expired = m.expired;
  st.entities_live = m.live_entities;
  st.history_series = m.history.live_columns();
  st.history_bytes = m.history.bytes();
  st.history_blocks_released = m.blocks_released;
  st.bytes = st.history_bytes + m.history.index_bytes() +
             (row_.capacity() + m.last_seen.capacity()) * sizeof(double) + m.pool->bytes() +
             m.catalog_bytes;
  {
    base::WriterLock lock(&mu_);
    published_.swap(published);
    published_stats_ = st;
  }
  // `published` now holds the previous snapshot; dropping it outside the
  // lock may free its slot.
}

std::shared_ptr<const Snapshot> Pipeline::snapshot() const {
  base::WriterLock lock(&mu_);
  return published_;
}

Pipeline::Stats Pipeline::stats() const {
  base::WriterLock lock(&mu_);
  return published_stats_;
}

}  // namespace nodepulse::pipeline
