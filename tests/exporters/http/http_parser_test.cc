// The request-head parser on inline bytes: well-formed, incomplete, oversized
// and malformed heads, without a socket.
#include "http_parser.h"

#include "gtest/gtest.h"

namespace nodepulse::exporters::http_internal {
namespace {

ParseResult Parse(absl::string_view s, size_t max = 8192) { return ParseRequestHead(s, max); }

TEST(HttpParser, ParsesRequestLineHeadersAndQuery) {
  ParseResult r = Parse("GET /api/v1/a%2Fb?x=1&y=%20#frag HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\nrest");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/api/v1/a/b");
  EXPECT_EQ(r.request.query, "x=1&y=%20");
  EXPECT_EQ(r.request.Header("x-a"), "1, 2");
  EXPECT_EQ(r.head_bytes, std::string("GET /api/v1/a%2Fb?x=1&y=%20#frag HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n").size());
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.content_length, 0u);
}

TEST(HttpParser, KeepAliveFollowsVersionAndConnectionHeader) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

TEST(HttpParser, AcceptsBareLfAndLeadingEmptyLine) {
  ParseResult r = Parse("\r\nGET /x HTTP/1.1\nHost: h\n\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.path, "/x");
}

TEST(HttpParser, IncompleteUntilBlankLine) {
  EXPECT_EQ(Parse("").state, ParseState::kIncomplete);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\n").state, ParseState::kIncomplete);
  EXPECT_EQ(Parse("GE").state, ParseState::kIncomplete);
}

TEST(HttpParser, OversizedHeadIs431EvenBeforeItEnds) {
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(9000, 'a');
  ParseResult r = Parse(big);
  EXPECT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.error_status, 431);
  r = Parse(big + "\r\n\r\n");
  EXPECT_EQ(r.error_status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 101; ++i) many += "X" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(Parse(many + "\r\n").error_status, 431);
}

TEST(HttpParser, ContentLength) {
  ParseResult r = Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.content_length, 12u);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n").state,
            ParseState::kComplete);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n").error_status, 400);
}

TEST(HttpParser, RejectsMalformedHeads) {
  struct Case {
    const char* head;
    int status;
  } cases[] = {
      {"GET /\r\n\r\n", 400},                                          // no version
      {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},                     // double space
      {"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", 400},                    // extra token
      {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},                      // bad method
      {"GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},              // absolute-form
      {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},                 // control in target
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"GET / FTP/1.0\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},                                 // 1.1 without Host
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},                     // space before colon
      {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400},           // obs-fold
      {"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
  };
  for (const Case& c : cases) {
    ParseResult r = Parse(c.head);
    EXPECT_EQ(r.state, ParseState::kError) << c.head;
    EXPECT_EQ(r.error_status, c.status) << c.head << " -> " << r.error;
  }
}

TEST(HttpParser, BinaryOrTlsBytesFailWithoutWaitingForABlankLine) {
  // A TLS ClientHello starts with 0x16: refuse at once instead of timing out.
  ParseResult r = Parse(std::string("\x16\x03\x01\x02\x00", 5));
  EXPECT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.error_status, 400);
}

TEST(HttpParser, SerializeResponseDropsInjectedHeadersAndHonoursHead) {
  HttpResponse resp{200, "text/plain", "body", {{"X-Ok", "1"}, {"X-Bad", "a\r\nSet-Cookie: x"}}, nullptr};
  std::string full = SerializeResponse(resp, false, true);
  EXPECT_NE(full.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_NE(full.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(full.find("X-Ok: 1\r\n"), std::string::npos);
  EXPECT_EQ(full.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(full.substr(full.size() - 8), "\r\n\r\nbody");
  std::string head = SerializeResponse(resp, true, false);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_NE(head.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Connection: close"), std::string::npos);
}

TEST(HttpParser, SerializeResponseWithSharedBodyReturnsOnlyTheHead) {
  HttpResponse resp{200, "text/plain", "tail", {}, std::make_shared<const std::string>("shared+")};
  std::string out = SerializeResponse(resp, false, false);
  EXPECT_NE(out.find("Content-Length: 11\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");  // the caller sends both parts
}

TEST(HttpParser, DecodePathKeepsPlusAndBadEscapes) {
  EXPECT_EQ(DecodePath("/a+b%41%zz%4"), "/a+bA%zz%4");
}

}  // namespace
}  // namespace nodepulse::exporters::http_internal
