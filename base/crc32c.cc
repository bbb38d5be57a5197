#include "nodepulse/base/crc32c.h"

#include <cstring>

namespace nodepulse::base {

// SSE4.2's crc32 instruction when the CPU has it (every x86-64 server of the
// last decade), a table otherwise.

namespace {

constexpr uint32_t kCastagnoliReversed = 0x82f63b78u;

struct CrcTable {
  uint32_t t[8][256];
  constexpr CrcTable() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCastagnoliReversed : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};
constexpr CrcTable kCrcTable;

uint32_t Crc32cSoftware(const unsigned char* p, size_t n, uint32_t crc) {
  // Slice-by-8: eight table lookups per 8 bytes instead of a dependent chain.
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= crc;
    crc = kCrcTable.t[7][v & 0xff] ^ kCrcTable.t[6][(v >> 8) & 0xff] ^
          kCrcTable.t[5][(v >> 16) & 0xff] ^ kCrcTable.t[4][(v >> 24) & 0xff] ^
          kCrcTable.t[3][(v >> 32) & 0xff] ^ kCrcTable.t[2][(v >> 40) & 0xff] ^
          kCrcTable.t[1][(v >> 48) & 0xff] ^ kCrcTable.t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ kCrcTable.t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const unsigned char* p, size_t n,
                                                          uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t Crc32c(const char* data, size_t n, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (kHaveSse42) return ~Crc32cHardware(p, n, crc);
#endif
  return ~Crc32cSoftware(p, n, crc);
}

}  // namespace nodepulse::base
