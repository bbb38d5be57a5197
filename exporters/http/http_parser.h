// HTTP/1.x wire format for HttpServer: a request-head parser that is a pure
// function over the bytes received so far, and the response serializer, so every malformed or oversized case is testable without a
// socket (tests/exporters/http_server_parser_test.cc).
//
// Deliberately strict where leniency enables request smuggling or confusion
// behind proxies: whitespace before a header colon, obsolete line folding,
// control characters, conflicting Content-Length values and any
// Transfer-Encoding are errors. Bare-LF line endings are accepted (RFC 9112
// 2.2 allows it) because they cannot change how a message is framed.
//
// Thread-safety: stateless.
#ifndef NODEPULSE_EXPORTERS_HTTP_PARSER_H_
#define NODEPULSE_EXPORTERS_HTTP_PARSER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "nodepulse/exporters/http/http_server.h"

namespace nodepulse::exporters::http_internal {

enum class ParseState { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  // kComplete:
  HttpRequest request;
  size_t head_bytes = 0;      // bytes of the head, including its blank line
  size_t content_length = 0;  // body bytes that follow the head
  bool keep_alive = true;     // HTTP/1.1 default, or 1.0 with keep-alive
  // kError: the status to answer with (400, 431, 501, 505) and why.
  int error_status = 0;
  std::string error;
};

// Parses the head at the start of `buf`. kIncomplete while no blank line has
// arrived and buf is shorter than max_header_bytes; 431 once the head is (or
// must be) longer than max_header_bytes.
ParseResult ParseRequestHead(absl::string_view buf, size_t max_header_bytes);

// Percent-decoding of a path ('+' stays '+', unlike in a query).
std::string DecodePath(absl::string_view in);

const char* StatusText(int status);

// Status line, headers and (unless `head_only`) body of a response. Handler
// headers containing CR or LF are dropped (no response splitting).
// `close` adds "Connection: close". With resp.shared_body set, Content-Length
// covers it and the body, but only the head is returned: the caller sends
// *shared_body, then body.
std::string SerializeResponse(const HttpResponse& resp, bool head_only, bool close);

}  // namespace nodepulse::exporters::http_internal

#endif  // NODEPULSE_EXPORTERS_HTTP_PARSER_H_
