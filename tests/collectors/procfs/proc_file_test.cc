// ProcFile: open once, pread from offset 0 into a kept buffer that grows.
#include "proc_file.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "procfs_test_util.h"

namespace nodepulse::collectors::procfs {
namespace {

namespace fs = std::filesystem;
using procfs_test::WriteFile;

std::string TempPath(const char* name) {
  return (fs::temp_directory_path() / absl::StrCat("proc_file_test_", getpid(), "_", name))
      .string();
}

TEST(ProcFile, MissingFileIsNotFound) {
  auto f = ProcFile::Open("/proc/definitely/not/here");
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(absl::IsNotFound(f.status())) << f.status();
  EXPECT_NE(f.status().message().find("/proc/definitely/not/here"), absl::string_view::npos);
}

TEST(ProcFile, ReReadsFromOffsetZeroAndSeesChanges) {
  std::string path = TempPath("reread");
  WriteFile(path, "first\n");
  auto f = ProcFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  auto a = f->Read();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "first\n");
  auto again = f->Read();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "first\n");  // not at EOF: pread ignores the file offset
  WriteFile(path, "second, longer\n");
  auto b = f->Read();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "second, longer\n");
  fs::remove(path);
}

TEST(ProcFile, GrowsWhenTheFileFillsTheBuffer) {
  std::string path = TempPath("grow");
  std::string big(100000, 'x');
  WriteFile(path, big);
  auto f = ProcFile::Open(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->buffer_size(), 4096u);
  auto r = f->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), big.size());
  EXPECT_GT(f->buffer_size(), big.size());
  size_t settled = f->buffer_size();
  ASSERT_TRUE(f->Read().ok());
  EXPECT_EQ(f->buffer_size(), settled);  // no growth once it fits
  // Exactly the buffer size must still be detected as "maybe more".
  std::string exact(settled, 'y');
  WriteFile(path, exact);
  r = f->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), exact.size());
  fs::remove(path);
}

TEST(ProcFile, RealProcStatReadsWhole) {
  auto f = ProcFile::Open("/proc/stat");
  ASSERT_TRUE(f.ok()) << f.status();
  auto r = f->Read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->substr(0, 4), "cpu ");
  EXPECT_NE(r->find("\nbtime "), std::string_view::npos);
}

TEST(ProcFile, MoveKeepsTheFd) {
  std::string path = TempPath("move");
  WriteFile(path, "moved\n");
  auto f = ProcFile::Open(path);
  ASSERT_TRUE(f.ok());
  ProcFile g = *std::move(f);
  auto r = g.Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "moved\n");
  fs::remove(path);
}

TEST(ProcFile, ReadErrorCarriesPathAndCode) {
  std::string dir = TempPath("dir");
  fs::create_directories(dir);
  auto f = ProcFile::Open(dir);
  ASSERT_TRUE(f.ok());
  auto r = f->Read();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir), absl::string_view::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace nodepulse::collectors::procfs
