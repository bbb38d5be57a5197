// Kubelet /stats/summary JSON: the hand parser, then the usage part of the
// state builder.
#include <cstdint>

#include "fuzz_util.h"
#include "parse_entry.h"

namespace kl = nodepulse::collectors::kubelet;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  absl::StatusOr<size_t> pods = kl::ParseSummaryOnly(in);
  absl::StatusOr<size_t> built = kl::ParseAndBuildState(R"({"items":[]})", in);
  FUZZ_CHECK(pods.ok() == built.ok());
  return 0;
}
