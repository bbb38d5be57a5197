#include "http_parser.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nodepulse::exporters::http_internal {

namespace {

constexpr size_t kMaxHeaders = 100;

// RFC 9110 5.6.2 tchar: what a method or header name may contain.
bool IsTchar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

// Field values: visible ASCII, obs-text (>= 0x80), SP and HTAB; no CR, LF, NUL.
bool IsFieldValue(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Request targets: visible ASCII only (RFC 9112 3.2; a space would have split
// the request line already).
bool IsTarget(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

ParseResult Error(int status, std::string why) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

int HexValue(char h) {
  if (absl::ascii_isdigit(static_cast<unsigned char>(h))) return h - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(h)) - 'a' + 10;
}

}  // namespace

std::string DecodePath(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() &&
        absl::ascii_isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

namespace {

// The length of the head at the start of `rest` up to and including its empty
// line ("\r\n\r\n" or "\n\n", or mixed); npos while it is incomplete.
size_t FindHeadEnd(absl::string_view rest) {
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '\n') continue;
    size_t j = i + 1;
    if (j < rest.size() && rest[j] == '\r') ++j;
    if (j < rest.size() && rest[j] == '\n') return j + 1;
  }
  return absl::string_view::npos;
}

// The head's lines, each without its CR/LF, without the final empty one.
std::vector<absl::string_view> SplitHeadLines(absl::string_view head) {
  std::vector<absl::string_view> lines;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t nl = head.find('\n', pos);
    absl::string_view line = head.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Request line: method SP target SP version, single spaces. Fills the
// method, path, query and keep-alive default of `r` and sets `*version`;
// on a bad line replaces `r` with the error and returns false.
bool ParseRequestLine(absl::string_view line, ParseResult* r, absl::string_view* version) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos || line.find(' ', sp2 + 1) != absl::string_view::npos) {
    *r = Error(400, "malformed request line");
    return false;
  }
  absl::string_view method = line.substr(0, sp1);
  absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  *version = line.substr(sp2 + 1);
  if (!IsToken(method)) {
    *r = Error(400, "malformed method");
    return false;
  }
  if (target.empty() || target[0] != '/' || !IsTarget(target)) {
    *r = Error(400, "request target must be an absolute path");
    return false;
  }
  if (*version == "HTTP/1.1") {
    r->keep_alive = true;
  } else if (*version == "HTTP/1.0") {
    r->keep_alive = false;
  } else {
    *r = absl::StartsWith(*version, "HTTP/")
             ? Error(505, absl::StrCat("unsupported version ", *version))
             : Error(400, "malformed request line");
    return false;
  }
  r->request.method = std::string(method);
  absl::string_view path = target.substr(0, target.find_first_of("?#"));
  r->request.path = DecodePath(path);
  size_t q = target.find('?');
  if (q != absl::string_view::npos) {
    absl::string_view query = target.substr(q + 1);
    r->request.query = std::string(query.substr(0, query.find('#')));
  }
  return true;
}

// One header field line into `r`'s headers (repeats joined with ", ") and,
// for Content-Length, its content_length (`*has_length` says one was seen).
// On a bad line replaces `r` with the error and returns false.
bool ParseHeaderField(absl::string_view h, ParseResult* r, bool* has_length) {
  auto fail = [r](int status, const char* why) {
    *r = Error(status, why);
    return false;
  };
  if (h[0] == ' ' || h[0] == '\t') return fail(400, "obsolete header line folding");
  size_t colon = h.find(':');
  if (colon == absl::string_view::npos) return fail(400, "header line without ':'");
  absl::string_view name = h.substr(0, colon);
  if (!IsToken(name)) return fail(400, "malformed header name");
  absl::string_view value = absl::StripAsciiWhitespace(h.substr(colon + 1));
  if (!IsFieldValue(value)) return fail(400, "control character in header value");
  std::string lname = absl::AsciiStrToLower(name);
  if (lname == "content-length") {
    uint64_t n;
    if (value.empty() || !absl::SimpleAtoi(value, &n) || !absl::ascii_isdigit(static_cast<unsigned char>(value[0]))) {
      return fail(400, "invalid Content-Length");
    }
    if (*has_length && n != r->content_length) return fail(400, "conflicting Content-Length");
    *has_length = true;
    r->content_length = static_cast<size_t>(n);
  } else if (lname == "transfer-encoding") {
    // Only GET and HEAD are served, so no framing beyond Content-Length is
    // needed; refusing TE rules out CL/TE desynchronization.
    return fail(501, "Transfer-Encoding is not supported");
  }
  auto [it, inserted] = r->request.headers.emplace(lname, std::string(value));
  if (!inserted) absl::StrAppend(&it->second, ", ", value);
  return true;
}

// "Connection: close" ends an HTTP/1.1 connection after this request;
// "Connection: keep-alive" keeps an HTTP/1.0 one open.
void ApplyConnectionHeader(absl::string_view version, ParseResult* r) {
  auto conn = r->request.headers.find("connection");
  if (conn == r->request.headers.end()) return;
  std::string v = absl::AsciiStrToLower(conn->second);
  if (absl::StrContains(v, "close")) r->keep_alive = false;
  if (absl::StrContains(v, "keep-alive") && version == "HTTP/1.0") r->keep_alive = true;
}

}  // namespace

ParseResult ParseRequestHead(absl::string_view buf, size_t max_header_bytes) {
  // RFC 9112 2.2: ignore at least one empty line before the request line
  // (some clients send a CRLF after a POST body).
  size_t start = 0;
  while (start < buf.size() && start < 4 && (buf[start] == '\r' || buf[start] == '\n')) ++start;
  absl::string_view rest = buf.substr(start);
  const size_t end = FindHeadEnd(rest);
  if (end == absl::string_view::npos) {
    if (buf.size() >= max_header_bytes) {
      return Error(431, absl::StrCat("request head exceeds ", max_header_bytes, " bytes"));
    }
    // A non-token first byte can never become a valid request: fail now
    // rather than waiting for the timeout (TLS to a plain port, binary junk).
    if (!rest.empty() && !IsTchar(rest[0])) return Error(400, "malformed request line");
    return ParseResult{};
  }
  if (start + end > max_header_bytes) {
    return Error(431, absl::StrCat("request head exceeds ", max_header_bytes, " bytes"));
  }

  std::vector<absl::string_view> lines = SplitHeadLines(rest.substr(0, end));
  if (lines.empty()) return Error(400, "empty request");
  if (lines.size() - 1 > kMaxHeaders) {
    return Error(431, absl::StrCat("more than ", kMaxHeaders, " header fields"));
  }

  ParseResult r;
  absl::string_view version;
  if (!ParseRequestLine(lines[0], &r, &version)) return r;
  bool has_length = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!ParseHeaderField(lines[i], &r, &has_length)) return r;
  }
  if (version == "HTTP/1.1" && r.request.headers.count("host") == 0) {
    return Error(400, "HTTP/1.1 request without Host");  // RFC 9112 3.2
  }
  ApplyConnectionHeader(version, &r);
  r.state = ParseState::kComplete;
  r.head_bytes = start + end;
  return r;
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

std::string SerializeResponse(const HttpResponse& resp, bool head_only, bool close) {
  std::string out = absl::StrCat("HTTP/1.1 ", resp.status, " ", StatusText(resp.status),
                                 "\r\nContent-Type: ", resp.content_type,
                                 "\r\nContent-Length: ",
                                 resp.body.size() + (resp.shared_body ? resp.shared_body->size() : 0),
                                 "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
  if (close) out += "Connection: close\r\n";
  for (const auto& [k, v] : resp.headers) {
    if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    absl::StrAppend(&out, k, ": ", v, "\r\n");
  }
  out += "\r\n";
  // With a shared body the caller sends it and then `body` (ResponseTail).
  if (!head_only && !resp.shared_body) out += resp.body;
  return out;
}

}  // namespace nodepulse::exporters::http_internal
