#include "nodepulse/base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace nodepulse::base {
namespace {

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720 (iSCSI) B.4 test vectors, also used by leveldb's crc32c_test.
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62a8ab43u);
  std::string inc(32, 0);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(inc.data(), inc.size()), 0x46dd794eu);
  // Extending equals computing over the concatenation.
  std::string s = "hello, remote write";
  EXPECT_EQ(Crc32c(s.data() + 7, s.size() - 7, Crc32c(s.data(), 7)), Crc32c(s.data(), s.size()));
}

}  // namespace
}  // namespace nodepulse::base
