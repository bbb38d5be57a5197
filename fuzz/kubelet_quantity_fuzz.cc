// Kubernetes resource quantities from pod specs ("100m", "1.5Gi", "1e3").
#include <cmath>
#include <cstdint>

#include "fuzz_util.h"
#include "quantity.h"

using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<double> q = nodepulse::collectors::kubelet::ParseQuantity(AsView(data, size));
  if (q.ok()) FUZZ_CHECK(!std::isnan(*q));
  return 0;
}
