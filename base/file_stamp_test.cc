#include "nodepulse/base/file_stamp.h"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace nodepulse::base {
namespace {

namespace fs = std::filesystem;

class FileStampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("file_stamp_test." + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "token").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  fs::path dir_;
  std::string path_;
};

TEST_F(FileStampTest, UnchangedFileHasEqualStamps) {
  Write(path_, "token-a");
  FileStamp a = FileStamp::Of(path_);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.size, 7);
  EXPECT_EQ(a, FileStamp::Of(path_));
}

TEST_F(FileStampTest, InPlaceRewriteOfOtherSizeChangesStamp) {
  Write(path_, "token-a");
  FileStamp a = FileStamp::Of(path_);
  Write(path_, "token-longer");
  FileStamp b = FileStamp::Of(path_);
  EXPECT_EQ(a.ino, b.ino);
  EXPECT_NE(a, b);
}

TEST_F(FileStampTest, AtomicReplaceWithSameSizeAndMtimeChangesStamp) {
  // What a Kubernetes Secret update looks like: a new inode renamed over the
  // old path. Same size and mtime, so only the inode tells them apart.
  Write(path_, "token-a");
  FileStamp a = FileStamp::Of(path_);
  const std::string next = (dir_ / "token.new").string();
  Write(next, "token-b");
  fs::last_write_time(next, fs::last_write_time(path_));
  fs::rename(next, path_);
  FileStamp b = FileStamp::Of(path_);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
  EXPECT_NE(a, b);
}

TEST_F(FileStampTest, MissingFileHasAStableErrorStamp) {
  FileStamp a = FileStamp::Of(path_);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.error, ENOENT);
  EXPECT_EQ(a, FileStamp::Of(path_));
  Write(path_, "token-a");
  EXPECT_NE(a, FileStamp::Of(path_));
}

}  // namespace
}  // namespace nodepulse::base
