// CRC32C (Castagnoli), the checksum of remote_write's disk queue records
// and cursors. Debian 12's abseil predates absl/crc, so it is here: the
// SSE4.2 crc32 instruction when the CPU has it, slice-by-8 tables otherwise
// (both give the same value; crc32c_test.cc checks RFC 3720's vectors).
//
// Thread-safety: a pure function.
#ifndef NODEPULSE_BASE_CRC32C_H_
#define NODEPULSE_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace nodepulse::base {

// CRC32C of data[0, n), extending `crc` (the CRC of what came before; 0 to
// start): Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a + b).
uint32_t Crc32c(const char* data, size_t n, uint32_t crc = 0);

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_CRC32C_H_
