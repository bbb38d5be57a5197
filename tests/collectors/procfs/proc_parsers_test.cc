// Parser tests on inline strings: well-formed input from each kernel layout,
// plus truncated, garbage and overflowing lines, which must be counted and
// skipped without disturbing the rest of the file.
#include "proc_parsers.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace nodepulse::collectors::procfs {
namespace {

// ---- /proc/stat ----

TEST(ParseStat, ReadsCpusAndScalars) {
  StatData s;
  EXPECT_EQ(ParseStat("cpu  301854 612 111922 8979004 3552 2 3944 0 0 0\n"
                      "cpu0 44490 19 21045 1087069 220 1 3410 0 0 0\n"
                      "cpu1 47869 23 16474 1110787 591 0 46 0 0 0\n"
                      "intr 73777505 41 9 0 0\n"
                      "ctxt 38014093\n"
                      "btime 1418183276\n"
                      "processes 26442\n"
                      "procs_running 2\n"
                      "procs_blocked 1\n"
                      "softirq 5057579 250191 1481983\n",
                      &s),
            0u);
  ASSERT_TRUE(s.total.has_value());
  EXPECT_EQ(s.total->ticks[kCpuUser], 301854u);
  ASSERT_EQ(s.cpus.size(), 2u);
  EXPECT_EQ(s.cpus[0].name, "cpu0");
  EXPECT_EQ(s.cpus[0].id, "0");
  EXPECT_EQ(s.cpus[0].columns, 10);
  EXPECT_EQ(s.cpus[0].ticks[kCpuUser], 44490u);
  EXPECT_EQ(s.cpus[0].ticks[kCpuSoftirq], 3410u);
  EXPECT_EQ(s.cpus[1].id, "1");
  EXPECT_EQ(s.cpus[1].ticks[kCpuIowait], 591u);
  EXPECT_EQ(s.intr, 73777505u);
  EXPECT_EQ(s.ctxt, 38014093u);
  EXPECT_EQ(s.btime, 1418183276u);
  EXPECT_EQ(s.processes, 26442u);
  EXPECT_EQ(s.procs_running, 2u);
  EXPECT_EQ(s.procs_blocked, 1u);
}

TEST(ParseStat, OldAndNewCpuLayouts) {
  StatData s;
  // 2.6.0 printed 7 columns (no steal); a future kernel may print 11.
  EXPECT_EQ(ParseStat("cpu0 1 2 3 4 5 6 7\ncpu1 1 2 3 4 5 6 7 8 9 10 11\n", &s), 0u);
  ASSERT_EQ(s.cpus.size(), 2u);
  EXPECT_EQ(s.cpus[0].columns, 7);
  EXPECT_EQ(s.cpus[1].columns, kCpuColumns);
  EXPECT_EQ(s.cpus[1].ticks[kCpuGuestNice], 10u);
}

TEST(ParseStat, MalformedLinesAreCountedAndSkipped) {
  StatData s;
  EXPECT_EQ(ParseStat("cpu0 1 2\n"                       // truncated
                      "cpu1 1 2 x 4\n"                   // garbage
                      "cpuX 1 2 3 4\n"                   // not a cpu number
                      "cpu2 1 2 3 4 5 6 7 8 9 10\n"      // fine
                      "ctxt\n"                           // no value
                      "btime 12 13\n"                    // two values
                      "processes 18446744073709551616\n" // 2^64: overflow
                      "procs_running -1\n"
                      "page 5741 1808\n",                // unknown key: ignored
                      &s),
            7u);
  ASSERT_EQ(s.cpus.size(), 1u);
  EXPECT_EQ(s.cpus[0].id, "2");
  EXPECT_FALSE(s.ctxt.has_value());
  EXPECT_FALSE(s.btime.has_value());
  EXPECT_FALSE(s.processes.has_value());
  EXPECT_FALSE(s.procs_running.has_value());
}

TEST(ParseStat, MaxU64AndNoTrailingNewline) {
  StatData s;
  EXPECT_EQ(ParseStat("ctxt 18446744073709551615", &s), 0u);
  EXPECT_EQ(s.ctxt, 18446744073709551615u);
}

TEST(ParseStat, TruncatedReadKeepsCompleteLines) {
  StatData s;
  // A read cut mid-line: the partial last line is malformed, the rest stands.
  EXPECT_EQ(ParseStat("cpu0 1 2 3 4 5 6 7 8 9 10\nctxt 5\nbtime 1", &s), 0u);
  EXPECT_EQ(s.btime, 1u);  // "1" is a valid, if truncated, number
  EXPECT_EQ(ParseStat("cpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2", &s), 1u);
  EXPECT_EQ(s.cpus.size(), 1u);
}

TEST(ParseStat, ResultIsResetBetweenCalls) {
  StatData s;
  ParseStat("cpu0 1 2 3 4\nctxt 5\n", &s);
  EXPECT_EQ(ParseStat("", &s), 0u);
  EXPECT_TRUE(s.cpus.empty());
  EXPECT_FALSE(s.ctxt.has_value());
}

TEST(ParseStat, HugeIntrLineReadsOnlyTheTotal) {
  std::string text = "intr 123";
  for (int i = 0; i < 20000; ++i) text += " 0";
  text += "\nctxt 7\n";
  StatData s;
  EXPECT_EQ(ParseStat(text, &s), 0u);
  EXPECT_EQ(s.intr, 123u);
  EXPECT_EQ(s.ctxt, 7u);
}

// ---- /proc/meminfo ----

TEST(ParseMeminfo, FieldsWithAndWithoutUnit) {
  std::vector<MeminfoField> f;
  EXPECT_EQ(ParseMeminfo("MemTotal:       15666184 kB\n"
                         "Active(anon):     267256 kB\n"
                         "HugePages_Total:       0\n"
                         "VmallocTotal:   34359738367 kB\n",
                         &f),
            0u);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].name, "MemTotal");
  EXPECT_EQ(f[0].value, 15666184u);
  EXPECT_TRUE(f[0].kb);
  EXPECT_EQ(f[1].name, "Active(anon)");
  EXPECT_EQ(f[2].name, "HugePages_Total");
  EXPECT_FALSE(f[2].kb);
  EXPECT_EQ(f[3].value, 34359738367u);
}

TEST(ParseMeminfo, MalformedLinesAreCountedAndSkipped) {
  std::vector<MeminfoField> f;
  EXPECT_EQ(ParseMeminfo("MemFree:\n"                        // truncated
                         "MemTotal 12 kB\n"                  // no colon
                         "Cached: 12 MB\n"                   // unknown unit
                         "Buffers: abc kB\n"                 // garbage
                         "Dirty: 99999999999999999999 kB\n"  // overflow
                         "Shmem: 1 kB extra\n"               // trailing junk
                         ":\n"                               // empty key
                         "\n"                                // blank: ignored
                         "SwapFree: 5 kB",                   // no newline: fine
                         &f),
            7u);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].name, "SwapFree");
  EXPECT_EQ(f[0].value, 5u);
}

TEST(MeminfoMetricName, FollowsNodeExporter) {
  EXPECT_EQ(MeminfoMetricName("MemTotal", true), "node_memory_MemTotal_bytes");
  EXPECT_EQ(MeminfoMetricName("Active(anon)", true), "node_memory_Active_anon_bytes");
  EXPECT_EQ(MeminfoMetricName("Inactive(file)", true), "node_memory_Inactive_file_bytes");
  EXPECT_EQ(MeminfoMetricName("HugePages_Total", false), "node_memory_HugePages_Total");
  EXPECT_EQ(MeminfoMetricName("Committed_AS", true), "node_memory_Committed_AS_bytes");
  EXPECT_EQ(MeminfoMetricName("Odd-Key.x", false), "node_memory_Odd_Key_x");
}

// ---- /proc/loadavg ----

TEST(ParseLoadavg, ReadsThreeAverages) {
  LoadavgData l;
  EXPECT_EQ(ParseLoadavg("2.21 1.72 0.80 1/150 32150\n", &l), 0u);
  EXPECT_TRUE(l.valid);
  EXPECT_DOUBLE_EQ(l.load1, 2.21);
  EXPECT_DOUBLE_EQ(l.load5, 1.72);
  EXPECT_DOUBLE_EQ(l.load15, 0.80);
}

TEST(ParseLoadavg, MalformedIsOneError) {
  LoadavgData l;
  EXPECT_EQ(ParseLoadavg("0.5 0.3", &l), 1u);  // truncated
  EXPECT_FALSE(l.valid);
  EXPECT_EQ(ParseLoadavg("zero one two", &l), 1u);
  EXPECT_EQ(ParseLoadavg("", &l), 1u);
  EXPECT_EQ(ParseLoadavg("1e400 1 1", &l), 1u);  // not kernel format
  EXPECT_FALSE(l.valid);
}

// ---- /proc/pressure/* ----

TEST(ParsePressure, SomeAndFull) {
  PressureData p;
  EXPECT_EQ(ParsePressure("some avg10=0.10 avg60=2.00 avg300=3.85 total=15\n"
                          "full avg10=0.20 avg60=3.00 avg300=4.95 total=25\n",
                          &p),
            0u);
  ASSERT_TRUE(p.some.present);
  ASSERT_TRUE(p.full.present);
  EXPECT_DOUBLE_EQ(p.some.avg10, 0.10);
  EXPECT_DOUBLE_EQ(p.some.avg60, 2.00);
  EXPECT_DOUBLE_EQ(p.some.avg300, 3.85);
  EXPECT_EQ(p.some.total_us, 15u);
  EXPECT_DOUBLE_EQ(p.full.avg300, 4.95);
  EXPECT_EQ(p.full.total_us, 25u);
}

TEST(ParsePressure, SomeOnlyIsPre513Cpu) {
  PressureData p;
  EXPECT_EQ(ParsePressure("some avg10=42.30 avg60=33.51 avg300=18.78 total=92048105\n", &p), 0u);
  EXPECT_TRUE(p.some.present);
  EXPECT_FALSE(p.full.present);
  EXPECT_EQ(p.some.total_us, 92048105u);
}

TEST(ParsePressure, MalformedLinesAreCountedAndSkipped) {
  PressureData p;
  EXPECT_EQ(ParsePressure("some avg10=0.10 avg60=\n", &p), 1u);  // truncated
  EXPECT_FALSE(p.some.present);
  EXPECT_EQ(ParsePressure("some avg10=0.10 avg60=2.00 avg300=3.85\n", &p), 1u);  // no total
  EXPECT_EQ(ParsePressure("half avg10=0 avg60=0 avg300=0 total=0\n", &p), 1u);   // bad kind
  EXPECT_EQ(ParsePressure("some avg10=x avg60=0 avg300=0 total=0\n", &p), 1u);
  EXPECT_EQ(ParsePressure("some avg10 avg60=0 avg300=0 total=0\n", &p), 1u);
  EXPECT_EQ(ParsePressure("some avg10=0 avg60=0 avg300=0 total=18446744073709551616\n", &p), 1u);
  // A bad "some" does not hide a good "full".
  EXPECT_EQ(ParsePressure("some garbage\nfull avg10=1 avg60=2 avg300=3 total=4\n", &p), 1u);
  EXPECT_FALSE(p.some.present);
  EXPECT_TRUE(p.full.present);
  EXPECT_EQ(p.full.total_us, 4u);
}

TEST(ParsePressure, UnknownKeysFromFutureKernelsAreIgnored) {
  PressureData p;
  EXPECT_EQ(ParsePressure("some avg10=1.00 avg60=2.00 avg300=3.00 total=4 avg3600=5.00\n", &p),
            0u);
  EXPECT_TRUE(p.some.present);
  EXPECT_EQ(p.some.total_us, 4u);
}

// ---- /proc/diskstats ----

TEST(ParseDiskstats, FourteenEighteenAndTwentyFields) {
  std::vector<DiskLine> d;
  EXPECT_EQ(ParseDiskstats(
                "   8       0 sda 25354637 34367663 1003346126 18492372 28444756 11134226 "
                "505697032 63877960 0 9653880 82621804\n"
                "   8       0 sdb 326552 841 9657779 84 41822 2895 1972905 5007 0 60730 67070 "
                "68851 0 1925173784 11130\n"
                "   8       0 sdc 14202 71 579164 21861 2995 1589 180500 40875 0 11628 55200 0 0 "
                "0 0 127 182\n",
                &d),
            0u);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "sda");
  EXPECT_EQ(d[0].major, 8u);
  EXPECT_EQ(d[0].columns, 11);
  EXPECT_EQ(d[0].stats[kDiskSectorsRead], 1003346126u);
  EXPECT_EQ(d[0].stats[kDiskIoWeightedMs], 82621804u);
  EXPECT_EQ(d[1].columns, 15);
  EXPECT_EQ(d[1].stats[kDiskDiscards], 68851u);
  EXPECT_EQ(d[1].stats[kDiskSectorsDiscarded], 1925173784u);
  EXPECT_EQ(d[1].stats[kDiskDiscardMs], 11130u);
  EXPECT_EQ(d[2].columns, 17);
  EXPECT_EQ(d[2].stats[kDiskFlushes], 127u);
  EXPECT_EQ(d[2].stats[kDiskFlushMs], 182u);
}

TEST(ParseDiskstats, MalformedLinesAreCountedAndSkipped) {
  std::vector<DiskLine> d;
  EXPECT_EQ(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10\n"              // 13 fields
                           "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12\n"        // 15 fields
                           "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"  // 19
                           "8 1 sda1 250 2000 0 0\n"                     // 2.6 partition
                           "x 0 sdb 1 2 3 4 5 6 7 8 9 10 11\n"           // garbage major
                           "8 0 sdb 1 2 3 4 5 6 7 8 9 10 x\n"            // garbage stat
                           "8 0 sdc 1 2 3 4 5 6 7 8 9 10 18446744073709551616\n"  // overflow
                           "8\n"                                         // truncated
                           "\n"                                          // blank: ignored
                           "254 0 vda 1 2 3 4 5 6 7 8 9 10 11",          // good, no newline
                           &d),
            8u);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "vda");
  EXPECT_EQ(d[0].stats[kDiskIoWeightedMs], 11u);
}

TEST(ParseDiskstats, ExtraColumnsOfFutureKernelsAreIgnored) {
  std::vector<DiskLine> d;
  EXPECT_EQ(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n", &d), 0u);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].columns, kDiskColumns);
  EXPECT_EQ(d[0].stats[kDiskFlushMs], 17u);
}

TEST(DefaultDiskExcluded, MatchesNodeExporterRegex) {
  struct Case {
    const char* device;
    bool excluded;
  };
  const Case cases[] = {
      {"ram0", true},       {"ram15", true},     {"zram0", true},       {"loop7", true},
      {"loop12", true},     {"fd0", true},       {"sda1", true},        {"hda3", true},
      {"vdb2", true},       {"xvda1", true},     {"nvme0n1p1", true},   {"nvme10n12p3", true},
      {"sda", false},       {"vda", false},      {"xvda", false},       {"nvme0n1", false},
      {"sdaa1", false},     {"dm-0", false},     {"mmcblk0", false},    {"mmcblk0p1", false},
      {"sr0", false},       {"md0", false},      {"ram", false},        {"nvme0n1p", false},
      {"nvmen1p1", false},  {"nvme0np1", false}, {"sd1", false},        {"zram", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DefaultDiskExcluded(c.device), c.excluded) << c.device;
  }
}

// ---- /proc/net/dev ----

constexpr char kNetDev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo: 1664039048 1566805    0    0    0     0          0         0 1664039048 1566805    "
    "0    0    0     0       0          0\n"
    "  eth0: 874354587 1036395 1 2 3 4 5 6 563352563  732147 7 8 9 10 11 12\n";

TEST(ParseNetDev, ReadsEveryColumn) {
  std::vector<NetDevLine> d;
  EXPECT_EQ(ParseNetDev(kNetDev, &d), 0u);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "lo");
  EXPECT_EQ(d[1].name, "eth0");
  EXPECT_EQ(d[1].stats[kRxBytes], 874354587u);
  EXPECT_EQ(d[1].stats[kRxErrs], 1u);
  EXPECT_EQ(d[1].stats[kRxMulticast], 6u);
  EXPECT_EQ(d[1].stats[kTxBytes], 563352563u);
  EXPECT_EQ(d[1].stats[kTxColls], 10u);
  EXPECT_EQ(d[1].stats[kTxCompressed], 12u);
}

TEST(ParseNetDev, OldKernelWithoutBlankAfterColon) {
  std::vector<NetDevLine> d;
  EXPECT_EQ(ParseNetDev("eth0:123 1 0 0 0 0 0 0 456 2 0 0 0 0 0 0\n", &d), 0u);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].stats[kRxBytes], 123u);
  EXPECT_EQ(d[0].stats[kTxBytes], 456u);
}

TEST(ParseNetDev, MalformedLinesAreCountedAndSkipped) {
  std::vector<NetDevLine> d;
  EXPECT_EQ(ParseNetDev("eth0: 1 2 3\n"                                 // truncated
                        "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"  // garbage
                        "eth2: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616\n"
                        ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"    // no name
                        "a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n" // two names
                        "garbage without colon\n"
                        "eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                        &d),
            6u);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "eth3");
  EXPECT_EQ(d[0].stats[kTxCompressed], 16u);
}

TEST(Parsers, ArbitraryBytesNeverCrash) {
  // Cheap stand-in for the fuzz target: every prefix of every sample and
  // some binary noise must parse without crashing.
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  const std::string inputs[] = {
      noise, kNetDev, "cpu0 1 2 3 4 5 6 7 8 9 10\nintr 5 1 2\n",
      "some avg10=0.10 avg60=2.00 avg300=3.85 total=15\n",
      "8 0 sdb 326552 841 9657779 84 41822 2895 1972905 5007 0 60730 67070 68851 0 19 11130\n"};
  StatData s;
  std::vector<MeminfoField> m;
  LoadavgData l;
  PressureData p;
  std::vector<DiskLine> d;
  std::vector<NetDevLine> n;
  for (const std::string& in : inputs) {
    for (size_t len = 0; len <= in.size(); len += 7) {
      std::string_view v(in.data(), len);
      ParseStat(v, &s);
      ParseMeminfo(v, &m);
      ParseLoadavg(v, &l);
      ParsePressure(v, &p);
      ParseDiskstats(v, &d);
      ParseNetDev(v, &n);
    }
  }
}

}  // namespace
}  // namespace nodepulse::collectors::procfs
