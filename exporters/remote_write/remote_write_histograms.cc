// HistogramEncoder (remote_write_encoder.h): remote-write 1.0 native
// histograms, hand-encoded like the samples (types.proto is the schema; the
// tests decode these bytes with the generated classes).
#include <algorithm>

#include "remote_write_encoder.h"

namespace nodepulse::exporters {

namespace {

inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

void PutTag(std::string* out, uint32_t field, uint32_t wire_type) {
  char b[5];
  out->append(b, static_cast<size_t>(PutVarint(b, (field << 3) | wire_type) - b));
}
void PutVarintField(std::string* out, uint32_t field, uint64_t v) {
  PutTag(out, field, 0);
  char b[10];
  out->append(b, static_cast<size_t>(PutVarint(b, v) - b));
}
void PutDoubleField(std::string* out, uint32_t field, double v) {
  PutTag(out, field, 1);
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts only, as AppendTimeSeries
  out->append(b, 8);
}
void PutLengthPrefix(std::string* out, uint32_t field, size_t len) {
  PutTag(out, field, 2);
  char b[10];
  out->append(b, static_cast<size_t>(PutVarint(b, len) - b));
}

// Histogram field numbers (types.proto).
enum : uint32_t {
  kCountInt = 1,
  kSum = 3,
  kSchema = 4,
  kZeroThreshold = 5,
  kZeroCountInt = 6,
  kPositiveSpans = 11,
  kPositiveDeltas = 12,
  kResetHint = 14,
  kTimestamp = 15,
};
constexpr uint64_t kResetHintGauge = 3;

// The Histogram message's bytes (without its own tag and length).
void EncodeHistogram(const NativeHistogram& h, int64_t timestamp_ms, std::string* out) {
  out->clear();
  PutVarintField(out, kCountInt, h.count);
  PutDoubleField(out, kSum, h.sum);
  PutVarintField(out, kSchema, ZigZag(h.schema));
  PutDoubleField(out, kZeroThreshold, h.zero_threshold);
  PutVarintField(out, kZeroCountInt, h.zero_count);
  for (const BucketSpan& s : h.positive_spans) {
    char span[16];
    char* p = span;
    *p++ = 0x08;  // BucketSpan.offset (1, varint, sint32)
    p = PutVarint(p, ZigZag(s.offset));
    *p++ = 0x10;  // BucketSpan.length (2, varint)
    p = PutVarint(p, s.length);
    PutLengthPrefix(out, kPositiveSpans, static_cast<size_t>(p - span));
    out->append(span, static_cast<size_t>(p - span));
  }
  if (!h.positive_deltas.empty()) {
    size_t len = 0;
    for (int64_t d : h.positive_deltas) len += VarintLength(ZigZag(d));
    PutLengthPrefix(out, kPositiveDeltas, len);  // packed
    for (int64_t d : h.positive_deltas) {
      char b[10];
      out->append(b, static_cast<size_t>(PutVarint(b, ZigZag(d)) - b));
    }
  }
  PutVarintField(out, kResetHint, kResetHintGauge);
  PutVarintField(out, kTimestamp, static_cast<uint64_t>(timestamp_ms));
}

}  // namespace

absl::Status HistogramEncoder::Encode(
    absl::Span<const WorkloadHistogram> histograms, int64_t timestamp_ms,
    absl::FunctionRef<absl::Status(absl::string_view, uint32_t)> emit) {
  const uint32_t max_run = std::max<uint32_t>(options_.max_samples_per_run, 1);
  raw_.Clear();
  uint32_t in_run = 0;
  for (const WorkloadHistogram& w : histograms) {
    labels_.clear();
    labels_.emplace_back("__name__", w.name);
    labels_.emplace_back("namespace", w.namespace_name);
    labels_.emplace_back("workload", w.workload);
    labels_.emplace_back("workload_kind", w.workload_kind);
    for (const pipeline::Label& l : options_.external_labels) {
      const absl::string_view n(l.name.data(), l.name.size());
      bool present = false;
      for (const auto& have : labels_) present |= have.first == n;
      if (!present) labels_.emplace_back(n, absl::string_view(l.value.data(), l.value.size()));
    }
    std::sort(labels_.begin(), labels_.end());  // remote write wants names sorted
    label_block_.clear();
    for (const auto& [n, v] : labels_) {
      if (!v.empty()) AppendEncodedLabel(n, v, &label_block_);  // empty = absent, as on scrape
    }
    EncodeHistogram(w.histogram, timestamp_ms, &histogram_);
    const size_t series_len =
        label_block_.size() + 1 + VarintLength(histogram_.size()) + histogram_.size();
    char* p = raw_.Reserve(1 + 10 + series_len);
    char* const start = p;
    *p++ = 0x0a;  // WriteRequest.timeseries (1, length-delimited)
    p = PutVarint(p, series_len);
    std::memcpy(p, label_block_.data(), label_block_.size());
    p += label_block_.size();
    *p++ = 0x22;  // TimeSeries.histograms (4, length-delimited)
    p = PutVarint(p, histogram_.size());
    std::memcpy(p, histogram_.data(), histogram_.size());
    p += histogram_.size();
    raw_.Commit(static_cast<size_t>(p - start));
    if (++in_run == max_run) {
      SnappyCompress(raw_.view(), &compressed_);
      if (absl::Status st = emit(compressed_, in_run); !st.ok()) return st;
      raw_.Clear();
      in_run = 0;
    }
  }
  if (in_run == 0) return absl::OkStatus();
  SnappyCompress(raw_.view(), &compressed_);
  return emit(compressed_, in_run);
}

}  // namespace nodepulse::exporters
