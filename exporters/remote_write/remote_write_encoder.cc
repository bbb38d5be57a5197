#include "remote_write_encoder.h"

#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace nodepulse::exporters {

void ByteBuffer::Grow(size_t need) {
  size_t cap = std::max<size_t>(need, cap_ * 2);
  cap = std::max<size_t>(cap, 4096);
  std::unique_ptr<char[]> bigger(new char[cap]);
  if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
  data_ = std::move(bigger);
  cap_ = cap;
}

void AppendEncodedLabel(absl::string_view name, absl::string_view value, std::string* out) {
  const size_t label_len = 1 + VarintLength(name.size()) + name.size() + 1 +
                           VarintLength(value.size()) + value.size();
  char tmp[32];
  char* p = tmp;
  *p++ = 0x0a;  // TimeSeries.labels (1, length-delimited)
  p = PutVarint(p, label_len);
  *p++ = 0x0a;  // Label.name
  p = PutVarint(p, name.size());
  out->append(tmp, static_cast<size_t>(p - tmp));
  out->append(name.data(), name.size());
  p = tmp;
  *p++ = 0x12;  // Label.value
  p = PutVarint(p, value.size());
  out->append(tmp, static_cast<size_t>(p - tmp));
  out->append(value.data(), value.size());
}

void SnappyCompress(absl::string_view in, std::string* out) {
  out->resize(snappy::MaxCompressedLength(in.size()));
  size_t n = 0;
  snappy::RawCompress(in.data(), in.size(), out->data(), &n);
  out->resize(n);
}

WriteRequestEncoder::WriteRequestEncoder(EncoderOptions options) : options_(std::move(options)) {
  if (options_.max_samples_per_run == 0) options_.max_samples_per_run = 1;
}

void WriteRequestEncoder::Rebuild(const pipeline::Catalog& catalog) {
  // Runs only when the catalog changes (series come or go), so the
  // allocations here are off the per-sample path.
  label_bytes_.clear();
  send_ids_.clear();
  spans_.assign(catalog.series.size(), Span{0, 0});
  std::vector<std::pair<absl::string_view, absl::string_view>> labels;
  for (pipeline::SeriesId id = 0; id < catalog.series.size(); ++id) {
    const pipeline::Catalog::Series& s = catalog.series[id];
    if (!s.alive || s.metric >= catalog.metrics.size()) continue;
    const std::string& name = catalog.metrics[s.metric].name;
    const bool aggregate = name.find(':') != std::string::npos;
    if (aggregate ? !options_.send_aggregates : !options_.send_raw) continue;
    const pipeline::Labels own = catalog.LabelsOf(id);
    labels.clear();
    labels.emplace_back("__name__", absl::string_view(name.data(), name.size()));
    for (const pipeline::Label& l : own) {
      if (l.value.empty() || l.name == "__name__") continue;
      labels.emplace_back(absl::string_view(l.name.data(), l.name.size()),
                          absl::string_view(l.value.data(), l.value.size()));
    }
    for (const pipeline::Label& l : options_.external_labels) {
      const absl::string_view n(l.name.data(), l.name.size());
      if (l.value.empty()) continue;
      bool present = false;
      for (const auto& have : labels) present |= have.first == n;
      if (!present) labels.emplace_back(n, absl::string_view(l.value.data(), l.value.size()));
    }
    // Remote write requires names sorted bytewise; __name__ is not
    // necessarily first (upper-case names sort before '_').
    std::sort(labels.begin(), labels.end());
    const size_t start = label_bytes_.size();
    for (const auto& [n, v] : labels) AppendEncodedLabel(n, v, &label_bytes_);
    spans_[id] = Span{start, static_cast<uint32_t>(label_bytes_.size() - start)};
    send_ids_.push_back(id);
  }
}

absl::Status WriteRequestEncoder::Encode(
    const pipeline::Snapshot& snapshot,
    absl::FunctionRef<absl::Status(absl::string_view, uint32_t)> emit) {
  if (snapshot.catalog == nullptr) return absl::OkStatus();
  if (snapshot.catalog != catalog_) {
    catalog_ = snapshot.catalog;
    Rebuild(*catalog_);
  }
  const double* values = snapshot.values.data();
  const size_t nvalues = snapshot.values.size();
  const char* labels = label_bytes_.data();
  const int64_t ts = snapshot.timestamp_ms;
  const uint32_t max_run = options_.max_samples_per_run;
  raw_.Clear();
  uint32_t in_run = 0;
  for (pipeline::SeriesId id : send_ids_) {
    if (id >= nvalues) continue;
    const double v = values[id];
    if (std::isnan(v)) continue;  // NaN = no sample this cycle
    const Span& span = spans_[id];
    AppendTimeSeries(absl::string_view(labels + span.offset, span.size), v, ts, &raw_);
    if (++in_run == max_run) {
      SnappyCompress(raw_.view(), &compressed_);
      if (absl::Status st = emit(compressed_, in_run); !st.ok()) return st;
      raw_.Clear();
      in_run = 0;
    }
  }
  if (in_run > 0) {
    SnappyCompress(raw_.view(), &compressed_);
    return emit(compressed_, in_run);
  }
  return absl::OkStatus();
}

namespace {
// Parses the varint length preamble of a snappy block.
bool ReadPreamble(absl::string_view block, uint64_t* len, size_t* preamble) {
  uint64_t v = 0;
  for (size_t i = 0; i < block.size() && i < 5; ++i) {
    const uint8_t b = static_cast<uint8_t>(block[i]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *len = v;
      *preamble = i + 1;
      return true;
    }
  }
  return false;
}
}  // namespace

absl::Status AssembleRequestBody(const std::vector<absl::string_view>& runs, std::string* body) {
  uint64_t total = 0;
  size_t payload = 0;
  for (absl::string_view run : runs) {
    uint64_t len;
    size_t pre;
    if (!ReadPreamble(run, &len, &pre)) {
      return absl::DataLossError("remote_write: queued run is not a snappy block");
    }
    total += len;
    payload += run.size() - pre;
  }
  if (total > 0xffffffffu) return absl::InvalidArgumentError("remote_write: request over 4 GiB");
  body->clear();
  body->reserve(5 + payload);
  char pre[10];
  body->append(pre, static_cast<size_t>(PutVarint(pre, total) - pre));
  for (absl::string_view run : runs) {
    uint64_t len = 0;
    size_t n = 0;
    ReadPreamble(run, &len, &n);
    body->append(run.data() + n, run.size() - n);
  }
  return absl::OkStatus();
}

}  // namespace nodepulse::exporters
