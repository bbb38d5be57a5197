// Kubelet /pods JSON: the hand parser the client uses, then the state
// builder (quantities, owners, indexes) on whatever it accepted.
#include <cstdint>

#include "fuzz_util.h"
#include "parse_entry.h"

namespace kl = nodepulse::collectors::kubelet;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  absl::StatusOr<size_t> containers = kl::ParsePodListOnly(in);
  absl::StatusOr<size_t> pods = kl::ParseAndBuildState(in, R"({"node":{"nodeName":"n"},"pods":[]})");
  // The state build fails only where parsing did.
  FUZZ_CHECK(containers.ok() == pods.ok());
  return 0;
}
