// The status page in a real browser: Debian's chromium, headless, loads "/"
// from the real agent watching real busy cgroups. The DOM must name them and
// the findings; the screenshot must be the right size and not blank (its
// pixels are decoded and counted). With NODEPULSE_UPDATE_DOCS=1 the
// screenshot is copied to docs/status-page.png (after a longer warm-up, so the
// charts have a minute of history).
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

std::string FindChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

std::vector<std::string> ChromiumArgs(const std::string& bin, const std::string& profile) {
  return {bin,
          "--headless",
          "--no-sandbox",  // runs as root in CI
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--hide-scrollbars",
          "--user-data-dir=" + profile,
          "--window-size=1280,1000"};
}

uint32_t Be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) | (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(s[at + 3])};
}

// A decoded 8-bit RGB(A) PNG, non-interlaced (what chromium writes). zlib is
// loaded at run time (libz.so.1 is on every Debian system; libcurl and
// chromium need it), so the test needs no extra link dependency.
struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // width*height*channels
  std::string error;
};

Image DecodePng(const std::string& png) {
  Image img;
  if (png.size() < 33 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    img.error = "not a PNG";
    return img;
  }
  std::string idat;
  uint8_t depth = 0, color = 0, interlace = 0;
  for (size_t at = 8; at + 12 <= png.size();) {
    uint32_t len = Be32(png, at);
    std::string type = png.substr(at + 4, 4);
    if (at + 12 + len > png.size()) break;
    if (type == "IHDR") {
      img.width = Be32(png, at + 8);
      img.height = Be32(png, at + 12);
      depth = static_cast<uint8_t>(png[at + 16]);
      color = static_cast<uint8_t>(png[at + 17]);
      interlace = static_cast<uint8_t>(png[at + 20]);
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    img.error = absl::StrCat("unsupported PNG depth ", depth, " color ", color, " interlace ", interlace);
    return img;
  }
  img.channels = color == 6 ? 4 : 3;
  void* z = dlopen("libz.so.1", RTLD_NOW);
  using Uncompress = int (*)(unsigned char*, unsigned long*, const unsigned char*, unsigned long);
  auto uncompress = z ? reinterpret_cast<Uncompress>(dlsym(z, "uncompress")) : nullptr;
  if (!uncompress) {
    img.error = "cannot load zlib (libz.so.1)";
    return img;
  }
  const size_t stride = size_t{img.width} * img.channels;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  unsigned long raw_len = raw.size();
  int rc = uncompress(raw.data(), &raw_len, reinterpret_cast<const unsigned char*>(idat.data()), idat.size());
  dlclose(z);
  if (rc != 0 || raw_len != raw.size()) {
    img.error = absl::StrCat("zlib uncompress failed: ", rc);
    return img;
  }
  // Undo the per-row filters (PNG spec, section 9).
  img.pixels.assign(stride * img.height, 0);
  const size_t bpp = img.channels;
  for (size_t y = 0; y < img.height; ++y) {
    uint8_t f = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &img.pixels[y * stride];
    const uint8_t* up = y ? &img.pixels[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= bpp ? out[x - bpp] : 0, b = up ? up[x] : 0, c = (up && x >= bpp) ? up[x - bpp] : 0;
      int pred = 0;
      switch (f) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: img.error = "bad PNG filter"; return img;
      }
      out[x] = static_cast<uint8_t>(in[x] + pred);
    }
  }
  return img;
}

TEST(StatusPageBrowser, RendersRealCgroupsInChromium) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty()) << "chromium not found: install chromium (scripts/deps.sh test)";

  TestCgroupTree tree("page");
  std::string hot = tree.AddChild("hot");
  std::string warm = tree.AddChild("warm");
  ASSERT_TRUE(tree.SetCpuLimit("hot", 30000, 100000));  // throttled: shows in the throttling table
  ASSERT_GT(tree.StartProcess("hot", "busy", 300), 0);
  ASSERT_GT(tree.StartProcess("warm", "alloc:48", 300), 0);

  AgentHarness agent({"--interval=1s", "--rescan-interval=1s"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  const bool update_docs = [] {
    const char* v = std::getenv("NODEPULSE_UPDATE_DOCS");
    return v && std::string(v) == "1";
  }();
  // History for the charts: a few seconds in the test, 90 s for the docs.
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(HttpGet(agent.port(), "/api/v1/health").body, "\"id\":\"" + hot + "\"");
  }, 15000, 250));
  std::this_thread::sleep_for(std::chrono::seconds(update_docs ? 90 : 6));

  const std::string dir = MakeTempDir("nodepulse-test-browser");
  ASSERT_FALSE(dir.empty());
  const std::string url = "http://127.0.0.1:" + std::to_string(agent.port()) + "/";

  std::vector<std::string> dump = ChromiumArgs(chromium, dir + "/profile-dom");
  dump.push_back("--dump-dom");
  dump.push_back(url);
  RunResult dom = RunCommand(dump, 90000);
  ASSERT_EQ(dom.exit_code, 0) << dom.output.substr(0, 4000);
  // The page itself, not an error page; our cgroups by name (leaf) and id.
  EXPECT_TRUE(absl::StrContains(dom.output, "node<span>pulse</span>")) << dom.output.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(dom.output, "id=\"top-cpu\""));
  EXPECT_TRUE(absl::StrContains(dom.output, hot)) << "hot cgroup id missing from the DOM";
  EXPECT_TRUE(absl::StrContains(dom.output, warm)) << "warm cgroup id missing from the DOM";
  EXPECT_TRUE(absl::StrContains(dom.output, "id=\"top-throttled\"")) << "throttling table missing";
  EXPECT_TRUE(absl::StrContains(dom.output, "Findings"));
  EXPECT_TRUE(absl::StrContains(dom.output, "<svg class=\"spark"));

  const std::string png_path = dir + "/status-page.png";
  std::vector<std::string> shot = ChromiumArgs(chromium, dir + "/profile-shot");
  shot.push_back("--screenshot=" + png_path);
  shot.push_back(url);
  RunResult s = RunCommand(shot, 90000);
  ASSERT_EQ(s.exit_code, 0) << s.output.substr(0, 4000);
  std::string png = ReadFile(png_path);
  Image img = DecodePng(png);
  ASSERT_TRUE(img.error.empty()) << img.error;
  EXPECT_EQ(img.width, 1280u);
  EXPECT_EQ(img.height, 1000u);
  // Not blank: many pixels differ from the background (the most common
  // color), and there are many distinct colors (text, charts, badges).
  std::vector<uint32_t> colors(img.width * img.height);
  for (size_t i = 0; i < colors.size(); ++i) {
    const uint8_t* p = &img.pixels[i * img.channels];
    colors[i] = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
  }
  std::set<uint32_t> distinct(colors.begin(), colors.end());
  std::vector<uint32_t> sorted = colors;
  std::sort(sorted.begin(), sorted.end());
  size_t best = 0;
  for (size_t i = 0, j; i < sorted.size(); i = j) {
    for (j = i; j < sorted.size() && sorted[j] == sorted[i]; ++j) {
    }
    best = std::max(best, j - i);
  }
  double non_background = 1.0 - static_cast<double>(best) / static_cast<double>(colors.size());
  EXPECT_GT(non_background, 0.10) << "screenshot looks blank: " << non_background;
  EXPECT_GT(distinct.size(), 100u) << "screenshot has too few colors to be the page";

  if (update_docs) {
    ASSERT_TRUE(WriteFile(std::string(NODEPULSE_SOURCE_DIR) + "/docs/status-page.png", png));
  }
  RemoveTree(dir);
}

}  // namespace
}  // namespace nodepulse::testing
