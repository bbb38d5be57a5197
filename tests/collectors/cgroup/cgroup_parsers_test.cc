#include "cgroup_parsers.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace nodepulse::collectors::cgroup_internal {
namespace {

TEST(ParseU64, PlainTrailingNewlineAndNoNewline) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseU64("982410198\n", &v));
  EXPECT_EQ(v, 982410198u);
  EXPECT_TRUE(ParseU64("42", &v));  // opencontainers snippets: no final newline
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(ParseU64("18446744073709551615\n", &v));
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
}

TEST(ParseU64, RejectsGarbageOverflowEmptyAndNegative) {
  uint64_t v = 0;
  EXPECT_FALSE(ParseU64("", &v));
  EXPECT_FALSE(ParseU64("\n", &v));
  EXPECT_FALSE(ParseU64("12a\n", &v));
  EXPECT_FALSE(ParseU64("18446744073709551616\n", &v));  // 2^64
  EXPECT_FALSE(ParseU64("-1\n", &v));
  EXPECT_FALSE(ParseU64("1 2\n", &v));
  EXPECT_FALSE(ParseU64("max\n", &v));
}

TEST(ParseU64OrMax, MaxAndNumbers) {
  uint64_t v = 0;
  bool is_max = false;
  EXPECT_TRUE(ParseU64OrMax("max\n", &v, &is_max));
  EXPECT_TRUE(is_max);
  EXPECT_TRUE(ParseU64OrMax("100663296\n", &v, &is_max));
  EXPECT_FALSE(is_max);
  EXPECT_EQ(v, 100663296u);
  EXPECT_FALSE(ParseU64OrMax("ma", &v, &is_max));  // truncated
  EXPECT_FALSE(ParseU64OrMax("maxx", &v, &is_max));
}

TEST(ParseI64, QuotaMinusOne) {
  int64_t v = 0;
  EXPECT_TRUE(ParseI64("-1\n", &v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(ParseI64("50000\n", &v));
  EXPECT_EQ(v, 50000);
  EXPECT_FALSE(ParseI64("-\n", &v));
  EXPECT_FALSE(ParseI64("9223372036854775808\n", &v));
}

constexpr std::string_view kCpuStatKeys[] = {"nr_periods", "nr_throttled", "throttled_time"};

TEST(ParseKeyedU64, V1CpuStatWithBurstFields) {
  uint64_t vals[3] = {};
  uint64_t found = 0;
  EXPECT_TRUE(ParseKeyedU64(
      "nr_periods 87\nnr_throttled 84\nthrottled_time 3307118000\nnr_bursts 0\nburst_time 0\n",
      kCpuStatKeys, vals, &found));
  EXPECT_EQ(found, 0b111u);
  EXPECT_EQ(vals[0], 87u);
  EXPECT_EQ(vals[1], 84u);
  EXPECT_EQ(vals[2], 3307118000u);
}

TEST(ParseKeyedU64, MissingKeysAreNotFoundNotErrors) {
  uint64_t vals[3] = {};
  uint64_t found = 0;
  EXPECT_TRUE(ParseKeyedU64("nr_periods 5\n", kCpuStatKeys, vals, &found));
  EXPECT_EQ(found, 0b001u);
  EXPECT_TRUE(ParseKeyedU64("", kCpuStatKeys, vals, &found));
  EXPECT_EQ(found, 0u);
}

TEST(ParseKeyedU64, TruncatedValueAndGarbage) {
  uint64_t vals[3] = {};
  uint64_t found = 0;
  // Truncated mid-line after the key: malformed, the earlier key still counts.
  EXPECT_FALSE(ParseKeyedU64("nr_periods 87\nnr_throttled", kCpuStatKeys, vals, &found));
  EXPECT_EQ(found, 0b001u);
  EXPECT_FALSE(ParseKeyedU64("nr_periods x7\n", kCpuStatKeys, vals, &found));
  EXPECT_EQ(found, 0u);
  EXPECT_FALSE(ParseKeyedU64("nr_periods 99999999999999999999999\n", kCpuStatKeys, vals,
                             &found));
  EXPECT_EQ(found, 0u);
  // A truncated last value that is still digits parses (kernel files are
  // never cut mid-number, but a short read could be): accepted as is.
  EXPECT_TRUE(ParseKeyedU64("nr_periods 8", kCpuStatKeys, vals, &found));
  EXPECT_EQ(vals[0], 8u);
}

TEST(ParseKeyedU64, KeyPrefixesDoNotMatch) {
  constexpr std::string_view keys[] = {"rss", "total_rss"};
  uint64_t vals[2] = {};
  uint64_t found = 0;
  EXPECT_TRUE(ParseKeyedU64("rss_huge 7\nrss 59469824\ntotal_rss_huge 1\ntotal_rss 3\n", keys,
                            vals, &found));
  EXPECT_EQ(found, 0b11u);
  EXPECT_EQ(vals[0], 59469824u);
  EXPECT_EQ(vals[1], 3u);
}

TEST(ParseKeyedU64, HugeV1UnlimitedValue) {
  constexpr std::string_view keys[] = {"hierarchical_memory_limit"};
  uint64_t vals[1] = {};
  uint64_t found = 0;
  EXPECT_TRUE(
      ParseKeyedU64("hierarchical_memory_limit 9223372036854771712\n", keys, vals, &found));
  EXPECT_EQ(vals[0], 9223372036854771712u);
}

TEST(ParseCpuMax, LimitedUnlimitedAndMalformed) {
  CpuMax m;
  ASSERT_TRUE(ParseCpuMax("50000 100000\n", &m));
  EXPECT_FALSE(m.unlimited);
  EXPECT_EQ(m.quota_us, 50000u);
  EXPECT_EQ(m.period_us, 100000u);
  ASSERT_TRUE(ParseCpuMax("max 100000\n", &m));
  EXPECT_TRUE(m.unlimited);
  EXPECT_EQ(m.period_us, 100000u);
  EXPECT_FALSE(ParseCpuMax("max\n", &m));
  EXPECT_FALSE(ParseCpuMax("", &m));
  EXPECT_FALSE(ParseCpuMax("50000 100000 7\n", &m));
  EXPECT_FALSE(ParseCpuMax("x 100000\n", &m));
}

TEST(ParsePressure, SomeAndFullWithoutFinalNewline) {
  Pressure p;
  // opencontainers/cgroups fs2/psi_test.go examplePSIData, no final newline.
  ASSERT_TRUE(ParsePressure("some avg10=1.71 avg60=2.36 avg300=2.57 total=230548833\n"
                            "full avg10=1.00 avg60=1.01 avg300=1.00 total=157622356",
                            &p));
  EXPECT_TRUE(p.has_some);
  EXPECT_TRUE(p.has_full);
  EXPECT_EQ(p.some_total_us, 230548833u);
  EXPECT_EQ(p.full_total_us, 157622356u);
}

TEST(ParsePressure, SomeOnlyPre513) {
  Pressure p;
  ASSERT_TRUE(ParsePressure("some avg10=4.30 avg60=3.20 avg300=1.11 total=1676316\n", &p));
  EXPECT_TRUE(p.has_some);
  EXPECT_FALSE(p.has_full);
  EXPECT_EQ(p.some_total_us, 1676316u);
}

TEST(ParsePressure, TruncatedAndGarbage) {
  Pressure p;
  EXPECT_FALSE(ParsePressure("some avg10=1.71 avg60=2.3", &p));
  EXPECT_FALSE(p.has_some);
  EXPECT_FALSE(ParsePressure("some avg10=0.00 total=12x\n", &p));
  EXPECT_FALSE(ParsePressure("bogus total=5\n", &p));
  EXPECT_FALSE(ParsePressure("some avg10=0.00 total=\n", &p));
}

std::vector<IoStatDevice> IoStat(std::string_view text, bool* ok) {
  std::vector<IoStatDevice> out;
  *ok = ParseIoStat(text, [&](const IoStatDevice& d) { out.push_back(d); });
  return out;
}

TEST(ParseIoStat, Plain) {
  bool ok;
  auto devs = IoStat(
      "8:0 rbytes=512 wbytes=4096 rios=100 wios=1 dbytes=5 dios=23\n"
      "253:0 rbytes=1024 wbytes=4096 rios=1 wios=1 dbytes=6 dios=8\n",
      &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].major, 8u);
  EXPECT_EQ(devs[0].minor, 0u);
  EXPECT_EQ(devs[0].rbytes, 512u);
  EXPECT_EQ(devs[0].wbytes, 4096u);
  EXPECT_EQ(devs[0].rios, 100u);
  EXPECT_EQ(devs[0].wios, 1u);
  EXPECT_EQ(devs[1].major, 253u);
  EXPECT_EQ(devs[1].rbytes, 1024u);
}

TEST(ParseIoStat, DevicesRunTogetherQuirk) {
  bool ok;
  // elastic io_statfiles/ubuntu: devices without stats print "MAJ:MIN " only.
  auto devs = IoStat(
      "7:7 7:6 7:5 7:4 rbytes=556032 wbytes=0 rios=78 wios=0 dbytes=0 dios=0\n"
      "7:3 rbytes=21017600 wbytes=0 rios=629 wios=0 dbytes=0 dios=0\n",
      &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].major, 7u);
  EXPECT_EQ(devs[0].minor, 4u);
  EXPECT_EQ(devs[0].rbytes, 556032u);
  EXPECT_EQ(devs[0].rios, 78u);
  EXPECT_EQ(devs[1].minor, 3u);
  EXPECT_EQ(devs[1].rbytes, 21017600u);
}

TEST(ParseIoStat, TrailingBareDevicesWithoutNewline) {
  bool ok;
  auto devs = IoStat(
      "259:0 rbytes=48963873792 wbytes=217588278272 rios=1315370 wios=15358572 "
      "dbytes=3222265856 dios=24\n7:7 7:6 7:5 7:4 7:3 7:2 7:1 7:0",
      &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].major, 259u);
  EXPECT_EQ(devs[0].wbytes, 217588278272u);
}

TEST(ParseIoStat, IocostKeysIgnoredAndEmptyFile) {
  bool ok;
  auto devs = IoStat(
      "259:0 rbytes=4085926524416 wbytes=1036680064512 rios=185034771 wios=40358485 "
      "dbytes=1013982564352 dios=199959 cost.vrate=100.00 cost.usage=1532009788",
      &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].rbytes, 4085926524416u);
  EXPECT_EQ(devs[0].wios, 40358485u);
  devs = IoStat("", &ok);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(devs.empty());
}

TEST(ParseIoStat, GarbageIsReportedButValidDevicesKept) {
  bool ok;
  auto devs = IoStat("8:0 rbytes=12 wbytes=zz\nfoo rbytes=1\n8:16 rios=3\n", &ok);
  EXPECT_FALSE(ok);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].rbytes, 12u);
  EXPECT_EQ(devs[1].minor, 16u);
  EXPECT_EQ(devs[1].rios, 3u);
  devs = IoStat("rbytes=5\n", &ok);  // stats before any device
  EXPECT_FALSE(ok);
  EXPECT_TRUE(devs.empty());
}

std::vector<BlkioDevice> Blkio(std::string_view text, bool* ok) {
  std::vector<BlkioDevice> out;
  *ok = ParseBlkio(text, [&](const BlkioDevice& d) { out.push_back(d); });
  return out;
}

TEST(ParseBlkio, ThrottleIoServiceBytes) {
  bool ok;
  auto devs = Blkio(
      "254:0 Read 16777216\n254:0 Write 16793600\n254:0 Sync 50348032\n254:0 Async 0\n"
      "254:0 Discard 16777216\n254:0 Total 50348032\nTotal 50348032\n",
      &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].major, 254u);
  EXPECT_EQ(devs[0].minor, 0u);
  EXPECT_EQ(devs[0].read, 16777216u);
  EXPECT_EQ(devs[0].write, 16793600u);
}

TEST(ParseBlkio, TotalOnlyAndTwoDevices) {
  bool ok;
  auto devs = Blkio("Total 0\n", &ok);  // kernel >= 6.9 without a throttle rule
  EXPECT_TRUE(ok);
  EXPECT_TRUE(devs.empty());
  devs = Blkio("8:0 Read 1\n8:0 Write 2\n8:16 Read 3\n8:16 Write 4\nTotal 10", &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[1].minor, 16u);
  EXPECT_EQ(devs[1].write, 4u);
}

TEST(ParseBlkio, TruncatedAndGarbage) {
  bool ok;
  auto devs = Blkio("8:0 Read 1\n8:0 Wri", &ok);
  EXPECT_FALSE(ok);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].read, 1u);
  devs = Blkio("x:0 Read 1\n", &ok);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(devs.empty());
}

TEST(CountLines, WithAndWithoutFinalNewline) {
  EXPECT_EQ(CountLines(""), 0u);
  EXPECT_EQ(CountLines("1\n"), 1u);
  EXPECT_EQ(CountLines("1\n2\n3"), 3u);
  EXPECT_EQ(CountLines("1\n\n2\n"), 2u);
}

TEST(ParseMountInfoLine, V1AndV2) {
  MountInfo m;
  ASSERT_TRUE(ParseMountInfoLine(
      "38 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:18 - "
      "cgroup cgroup rw,cpu,cpuacct",
      &m));
  EXPECT_EQ(m.mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(m.fs_type, "cgroup");
  EXPECT_EQ(m.super_options, "rw,cpu,cpuacct");
  ASSERT_TRUE(ParseMountInfoLine("28 26 0:23 / /sys/fs/cgroup rw,relatime - cgroup2 none rw",
                                 &m));
  EXPECT_EQ(m.fs_type, "cgroup2");
  EXPECT_EQ(m.root, "/");
  EXPECT_FALSE(ParseMountInfoLine("28 26 0:23 / /sys/fs/cgroup rw,relatime", &m));
  EXPECT_FALSE(ParseMountInfoLine("", &m));
}

TEST(ParseDiskstatsLine, NameAndNumbers) {
  uint32_t major, minor;
  std::string_view name;
  ASSERT_TRUE(ParseDiskstatsLine(" 254       0 vda 1 2 3 4", &major, &minor, &name));
  EXPECT_EQ(major, 254u);
  EXPECT_EQ(minor, 0u);
  EXPECT_EQ(name, "vda");
  EXPECT_FALSE(ParseDiskstatsLine("x 0 vda", &major, &minor, &name));
  EXPECT_FALSE(ParseDiskstatsLine("8 0", &major, &minor, &name));
}

}  // namespace
}  // namespace nodepulse::collectors::cgroup_internal
