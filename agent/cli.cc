#include "cli.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "nodepulse/base/curl.h"

namespace nodepulse::agent {

namespace {

constexpr char kDefaultUrl[] = "http://127.0.0.1:9779";

struct CliOptions {
  std::string command;
  std::string url = kDefaultUrl;
  std::string token_file, cacert;
  bool insecure = false;
  bool json = false;
  bool once = false;
  std::string sort = "cpu";
  int rows = 0;  // 0: fit the terminal
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(5);
};

std::string Usage() {
  return "usage: nodepulse health [--url=URL] [--json] [--timeout=5s]\n"
         "       nodepulse top [--url=URL] [--interval=1s] [--sort=cpu|memory|throttled] [--rows=N] [--once]\n"
         "common: --token-file=PATH --cacert=PEM --insecure (default URL " +
         std::string(kDefaultUrl) +
         ")\n"
         "health exit codes: 0 healthy, 1 findings, 2 agent unreachable\n";
}

// Returns "" or an error message.
std::string Parse(const std::vector<std::string>& args, CliOptions* o) {
  o->command = args[1];
  for (size_t i = 2; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "-h" || a == "--help") return "help";
    if (a.rfind("--", 0) != 0) return absl::StrCat("unexpected argument ", a);
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    for (char& c : name) c = c == '_' ? '-' : c;
    auto need = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      return true;
    };
    if (name == "once") {
      o->once = true;
    } else if (name == "json") {
      o->json = true;
    } else if (name == "insecure") {
      o->insecure = true;
    } else if (name == "url" || name == "token-file" || name == "cacert" || name == "sort" || name == "rows" ||
               name == "interval" || name == "timeout") {
      if (!need()) return absl::StrCat("--", name, " needs a value");
      if (name == "url") {
        o->url = value;
        while (!o->url.empty() && o->url.back() == '/') o->url.pop_back();
        if (!absl::StartsWith(o->url, "http://") && !absl::StartsWith(o->url, "https://")) {
          return absl::StrCat("--url must start with http:// or https:// (got \"", value, "\")");
        }
      } else if (name == "token-file") {
        o->token_file = value;
      } else if (name == "cacert") {
        o->cacert = value;
      } else if (name == "sort") {
        if (value != "cpu" && value != "memory" && value != "throttled") {
          return "--sort must be cpu, memory or throttled";
        }
        o->sort = value;
      } else if (name == "rows") {
        if (!absl::SimpleAtoi(value, &o->rows) || o->rows < 1 || o->rows > 1000) {
          return "--rows must be 1..1000";
        }
      } else {
        absl::Duration d;
        if (!absl::ParseDuration(value, &d) || d < absl::Milliseconds(100) || d > absl::Hours(1)) {
          return absl::StrCat("--", name, " must be a duration 100ms..1h (e.g. 2s), got \"", value, "\"");
        }
        (name == "interval" ? o->interval : o->timeout) = d;
      }
    } else {
      return absl::StrCat("unknown flag --", name);
    }
  }
  if (o->command == "health" && (o->once || o->rows || o->sort != "cpu")) {
    return "--once, --rows and --sort are for `nodepulse top`";
  }
  return "";
}

struct Fetched {
  bool ok = false;  // transport worked and HTTP 200
  long status = 0;
  std::string body;
  std::string findings_header;  // X-Nodepulse-Findings
  std::string error;
};

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  std::string line(p, size * n);
  constexpr char kName[] = "x-nodepulse-findings:";
  if (line.size() > sizeof(kName) - 1 && absl::EqualsIgnoreCase(line.substr(0, sizeof(kName) - 1), kName)) {
    *static_cast<std::string*>(ud) = std::string(absl::StripAsciiWhitespace(line.substr(sizeof(kName) - 1)));
  }
  return size * n;
}

// Reads the bearer token for --token-file; empty (and f->error set) when it
// cannot.
std::string ReadToken(const std::string& path, Fetched* f) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(ss.str()));
  if (!in || token.empty()) f->error = absl::StrCat("cannot read a token from ", path);
  return token;
}

Fetched Get(const CliOptions& o, const std::string& path_and_query) {
  Fetched f;
  base::CurlOptions curl_options;
  curl_options.timeout = o.timeout;
  curl_options.ca_file = o.cacert;
  curl_options.insecure_skip_verify = o.insecure;
  absl::StatusOr<base::CurlHandle> curl = base::NewCurlHandle(curl_options);
  if (!curl.ok()) {
    f.error = "libcurl init failed";
    return f;
  }
  std::string url = o.url + path_and_query;
  char errbuf[CURL_ERROR_SIZE] = {};
  base::CurlHeaders headers;
  if (!o.token_file.empty()) {
    std::string token = ReadToken(o.token_file, &f);
    if (token.empty()) return f;
    headers.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str()));
  }
  CURL* c = curl->get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, base::CurlAppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &f.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &f.findings_header);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    f.error = base::CurlErrorText(rc, errbuf);
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f.status);
    if (f.status == 200) {
      f.ok = true;
    } else {
      std::string first_line = f.body.substr(0, f.body.find('\n'));
      f.error = absl::StrCat("HTTP ", f.status, first_line.empty() ? "" : ": ", first_line.substr(0, 200));
    }
  }
  return f;
}

int RunHealth(const CliOptions& o) {
  Fetched f = Get(o, o.json ? "/api/v1/health" : "/api/v1/health?format=text");
  if (!f.ok) {
    std::fprintf(stderr, "nodepulse health: cannot read %s/api/v1/health: %s\n", o.url.c_str(), f.error.c_str());
    return 2;
  }
  int findings = 0;
  if (!absl::SimpleAtoi(f.findings_header, &findings)) {
    std::fprintf(stderr, "nodepulse health: %s does not look like a nodepulse agent (no X-Nodepulse-Findings header)\n",
                 o.url.c_str());
    return 2;
  }
  std::fwrite(f.body.data(), 1, f.body.size(), stdout);
  return findings == 0 ? 0 : 1;
}

volatile sig_atomic_t g_quit = 0;
void OnSignal(int) { g_quit = 1; }

// Terminal in cbreak mode (keys without Enter, no echo) for the lifetime of
// the object; restored on every exit path.
class RawTerminal {
 public:
  RawTerminal() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

int RunTop(CliOptions o) {
  const bool interactive = !o.once && isatty(STDOUT_FILENO);
  auto frame_query = [&](int cols, int lines) {
    int rows = o.rows ? o.rows : std::max(5, lines - 10);
    return absl::StrCat("/api/v1/health?format=top&sort=", o.sort, "&n=", rows, "&width=", std::max(60, cols));
  };
  if (!interactive) {
    Fetched f = Get(o, frame_query(140, o.rows ? o.rows + 10 : 40));
    if (!f.ok) {
      std::fprintf(stderr, "nodepulse top: cannot read %s/api/v1/health: %s\n", o.url.c_str(), f.error.c_str());
      return 2;
    }
    std::fwrite(f.body.data(), 1, f.body.size(), stdout);
    return 0;
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  RawTerminal raw;
  std::fputs("\x1b[?1049h\x1b[?25l", stdout);  // alternate screen, hide cursor
  int code = 0;
  while (!g_quit) {
    winsize ws{};
    int cols = 120, lines = 40;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      cols = ws.ws_col;
      lines = ws.ws_row;
    }
    Fetched f = Get(o, frame_query(cols, lines));
    std::string out = "\x1b[H";
    if (f.ok) {
      int n = 0;
      for (absl::string_view line : absl::StrSplit(f.body, '\n')) {
        if (++n >= lines) break;
        std::string l(line.substr(0, static_cast<size_t>(cols)));
        bool header = absl::StartsWith(line, "NAMESPACE/POD/CONTAINER") || absl::StartsWith(line, "CGROUP");
        bool title = n == 1;
        if (header) l = absl::StrCat("\x1b[7m", l, std::string(static_cast<size_t>(cols) - l.size(), ' '), "\x1b[0m");
        if (title) l = absl::StrCat("\x1b[1m", l, "\x1b[0m");
        absl::StrAppend(&out, l, "\x1b[K\r\n");
      }
    } else {
      absl::StrAppend(&out, "\x1b[1mnodepulse top\x1b[0m - ", o.url, " unreachable: ", f.error,
                      " (retrying)\x1b[K\r\n");
    }
    absl::StrAppend(&out, "\x1b[J\x1b[", lines, ";1H\x1b[2mq quit  c/m/t sort by cpu/memory/throttled  (sorted by ",
                    o.sort, ", every ", absl::FormatDuration(o.interval), ")\x1b[0m\x1b[K");
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);

    // Wait for the next frame, reacting to keys at once.
    int64_t wait_ms = absl::ToInt64Milliseconds(o.interval);
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait_ms)) > 0 && (p.revents & POLLIN)) {
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) == 1) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (c == 'q') break;
        if (c == 'c') o.sort = "cpu";
        if (c == 'm') o.sort = "memory";
        if (c == 't') o.sort = "throttled";
      }
    }
  }
  std::fputs("\x1b[?25h\x1b[?1049l", stdout);  // restore cursor and screen
  std::fflush(stdout);
  return code;
}

}  // namespace

bool IsCliCommand(const std::vector<std::string>& args) {
  return args.size() >= 2 && (args[1] == "health" || args[1] == "top");
}

int RunCli(const std::vector<std::string>& args) {
  CliOptions o;
  std::string err = Parse(args, &o);
  if (err == "help") {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "nodepulse %s: %s\n%s", args[1].c_str(), err.c_str(), Usage().c_str());
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int code = o.command == "health" ? RunHealth(o) : RunTop(o);
  curl_global_cleanup();
  return code;
}

}  // namespace nodepulse::agent
