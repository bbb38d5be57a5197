// Prometheus name rules and label rendering shared inside the pipeline.
#ifndef NODEPULSE_PIPELINE_INTERNAL_LABELS_H_
#define NODEPULSE_PIPELINE_INTERNAL_LABELS_H_

#include <string>
#include <string_view>

#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline::internal {

bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);
// name="value",... with Prometheus text escaping (\\, \", \n); labels must be
// sorted by the caller.
std::string RenderLabels(const Labels& labels);

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_LABELS_H_
