// Moved to the public nodepulse/pipeline/mutex.h so collectors/ and
// exporters/ use the same TSan-visible locks; these names keep pipeline's
// own includes working.
#ifndef NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_
#define NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_

#include "nodepulse/pipeline/mutex.h"

namespace nodepulse::pipeline::internal {

using ::nodepulse::pipeline::ReaderLock;
using ::nodepulse::pipeline::TsanAcquire;
using ::nodepulse::pipeline::TsanRelease;
using ::nodepulse::pipeline::WriterLock;

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_
