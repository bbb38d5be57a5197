// Kubernetes resource quantities ("100m", "1.5", "128Mi", "1e3", "2G") as
// doubles in base units (cores, bytes). Pod specs carry them as strings.
#ifndef NODEPULSE_COLLECTORS_KUBELET_QUANTITY_H_
#define NODEPULSE_COLLECTORS_KUBELET_QUANTITY_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace nodepulse::collectors::kubelet {

// Accepts k8s.io/apimachinery's resource.Quantity grammar: an optionally
// signed decimal number, then one suffix: binary (Ki Mi Gi Ti Pi Ei), decimal
// (n u m k M G T P E) or an exponent (e3, E-2). InvalidArgument otherwise,
// with the text in the message. Doubles are exact for every integer below
// 2^53 bytes (8 PiB), and a request or limit is never near that.
absl::StatusOr<double> ParseQuantity(std::string_view text);

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_QUANTITY_H_
