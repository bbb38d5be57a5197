// Remote-write 1.0 encoding: snapshots -> snappy-compressed runs of
// prometheus.TimeSeries, and runs -> one WriteRequest body.
//
// The protobuf wire format of WriteRequest is small enough to write by hand
// (proto/remote.proto and proto/types.proto are the schema; the tests decode
// our bytes with the generated classes):
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }
// A WriteRequest is just its TimeSeries fields back to back, so a run of
// encoded TimeSeries is a valid WriteRequest fragment, and requests are
// concatenations of runs. Snappy's block format can be concatenated too:
// after its varint length preamble a block is a list of literals and copies
// whose offsets point backwards by at most the bytes decoded so far *within
// that block*, so block A's elements followed by block B's decode to A+B
// under one preamble for len(A)+len(B). The disk queue therefore stores each
// run already compressed, and the sender builds a request with memcpy only.
//
// Per series, the encoded label block (sorted names, __name__ included, empty
// values left out as Prometheus does on scrape) is built once per catalog and
// reused every cycle; per sample the encoder writes ~20 bytes plus one memcpy
// of the label block, with no heap allocation after warm-up.
//
// Thread-safety: a WriteRequestEncoder is used by one thread at a time.
#ifndef NODEPULSE_EXPORTERS_REMOTE_WRITE_ENCODER_H_
#define NODEPULSE_EXPORTERS_REMOTE_WRITE_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "nodepulse/exporters/aggregates/native_histogram.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::exporters {

// A growable byte buffer that never zero-fills (std::string::resize does),
// so reserving room for a sample costs nothing until it is written.
class ByteBuffer {
 public:
  char* Reserve(size_t n) {
    if (size_ + n > cap_) Grow(size_ + n);
    return data_.get() + size_;
  }
  void Commit(size_t n) { size_ += n; }
  void Append(const char* p, size_t n) {
    std::memcpy(Reserve(n), p, n);
    size_ += n;
  }
  void Clear() { size_ = 0; }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  absl::string_view view() const { return absl::string_view(data_.get(), size_); }

 private:
  void Grow(size_t need);
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// One Label message (without its field tag) for each pair, in the order
// given, as the repeated `labels` field of a TimeSeries.
void AppendEncodedLabel(absl::string_view name, absl::string_view value, std::string* out);

// Appends WriteRequest field 1 holding one TimeSeries with `labels` (a block
// from AppendEncodedLabel) and one Sample.
inline void AppendTimeSeries(absl::string_view labels, double value, int64_t timestamp_ms,
                             ByteBuffer* out) {
  const uint64_t ts = static_cast<uint64_t>(timestamp_ms);
  // Sample: tag 0x09 + fixed64 double, tag 0x10 + varint int64.
  const size_t sample_len = 1 + 8 + 1 + VarintLength(ts);
  const size_t series_len = labels.size() + 1 + 1 + sample_len;
  char* p = out->Reserve(1 + 10 + series_len);
  char* const start = p;
  *p++ = 0x0a;  // WriteRequest.timeseries (1, length-delimited)
  p = PutVarint(p, series_len);
  std::memcpy(p, labels.data(), labels.size());
  p += labels.size();
  *p++ = 0x12;  // TimeSeries.samples (2, length-delimited)
  *p++ = static_cast<char>(sample_len);
  *p++ = 0x09;  // Sample.value (1, fixed64)
  std::memcpy(p, &value, 8);  // little-endian hosts only (x86-64, arm64)
  p += 8;
  *p++ = 0x10;  // Sample.timestamp (2, varint)
  p = PutVarint(p, ts);
  out->Commit(static_cast<size_t>(p - start));
}

// snappy::RawCompress of `in` into `out` (resized; capacity kept).
void SnappyCompress(absl::string_view in, std::string* out);

struct EncoderOptions {
  bool send_raw = true;         // series whose metric name has no ':'
  bool send_aggregates = true;  // recording-rule names level:metric:op
  // Added to every series unless it already has a label of that name.
  pipeline::Labels external_labels;
  // Samples per compressed run; a request carries whole runs.
  uint32_t max_samples_per_run = 2000;
};

class WriteRequestEncoder {
 public:
  explicit WriteRequestEncoder(EncoderOptions options);

  // Encodes the snapshot's samples (selected series with a non-NaN value,
  // at snapshot.timestamp_ms) as snappy runs of at most max_samples_per_run
  // samples, calling emit(run, samples) for each; stops at emit's first error.
  absl::Status Encode(const pipeline::Snapshot& snapshot,
                      absl::FunctionRef<absl::Status(absl::string_view, uint32_t)> emit);

  // The uncompressed bytes of the last run (tests and benchmarks).
  absl::string_view last_raw() const { return raw_.view(); }
  size_t selected_series() const { return send_ids_.size(); }
  uint64_t label_cache_bytes() const { return label_bytes_.capacity() + spans_.capacity() * sizeof(Span); }

 private:
  struct Span {
    uint64_t offset;
    uint32_t size;
  };
  void Rebuild(const pipeline::Catalog& catalog);

  EncoderOptions options_;
  // Held, not just compared by address: a freed catalog's address could be
  // reused by the next one and leave a stale label cache.
  std::shared_ptr<const pipeline::Catalog> catalog_;
  std::string label_bytes_;        // every selected series' label block
  std::vector<Span> spans_;        // by SeriesId, into label_bytes_
  std::vector<pipeline::SeriesId> send_ids_;
  ByteBuffer raw_;
  std::string compressed_;
};

// Native histograms (remote-write 1.0 `Histogram`, spans + deltas, reset
// hint GAUGE) of the aggregates engine's workloads, one TimeSeries each with
// labels __name__, namespace, workload, workload_kind and the external
// labels. They go through the same disk queue as samples, each counted as
// one sample. Per cycle this builds each label block anew (a few thousand
// histograms at most: metrics x windows x workloads), into reused buffers.
class HistogramEncoder {
 public:
  explicit HistogramEncoder(EncoderOptions options) : options_(std::move(options)) {}
  // Encodes into snappy runs of at most max_samples_per_run histograms,
  // calling emit(run, histograms); stops at emit's first error.
  absl::Status Encode(absl::Span<const WorkloadHistogram> histograms, int64_t timestamp_ms,
                      absl::FunctionRef<absl::Status(absl::string_view, uint32_t)> emit);

 private:
  EncoderOptions options_;
  std::vector<std::pair<absl::string_view, absl::string_view>> labels_;
  std::string label_block_, histogram_;
  ByteBuffer raw_;
  std::string compressed_;
};

// Builds one request body (a snappy block of a WriteRequest) from runs read
// back from the queue. Fails on a run that is not a snappy block.
absl::Status AssembleRequestBody(const std::vector<absl::string_view>& runs, std::string* body);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_REMOTE_WRITE_ENCODER_H_
