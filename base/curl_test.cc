#include "nodepulse/base/curl.h"

#include "gtest/gtest.h"

namespace nodepulse::base {
namespace {

TEST(CurlErrorText, PrefersTheErrorBuffer) {
  EXPECT_EQ(CurlErrorText(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 1"),
            "Failed to connect to 127.0.0.1 port 1");
  EXPECT_EQ(CurlErrorText(CURLE_COULDNT_CONNECT, ""), curl_easy_strerror(CURLE_COULDNT_CONNECT));
  EXPECT_EQ(CurlErrorText(CURLE_OPERATION_TIMEDOUT, nullptr), curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
}

}  // namespace
}  // namespace nodepulse::base
