// A gtest fixture with certificates (made once per suite), a token file and
// a FakeKubelet serving the 1.35 fixtures, plus stderr capture for the
// log-once checks.
#ifndef NODEPULSE_TESTS_COLLECTORS_KUBELET_HTTPS_FIXTURE_H_
#define NODEPULSE_TESTS_COLLECTORS_KUBELET_HTTPS_FIXTURE_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "fake_kubelet.h"
#include "kubelet_test_util.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::testing {

inline constexpr char kToken[] = "s3cr3t-T0KEN-never-logged";

class KubeletHttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("kubelet-https"));
    certs_ = new TestCerts(MakeTestCerts(*dir_));
    WriteFile(*dir_ + "/token", std::string(kToken) + "\n");
    WriteFile(*dir_ + "/wrong-token", "nope\n");
  }
  static void TearDownTestSuite() {
    RemoveTree(*dir_);
    delete certs_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->error.empty()) << certs_->error;
    kubelet_ = StartKubelet(certs_->server_cert, certs_->server_key);
    ASSERT_TRUE(kubelet_->ok());
  }
  std::unique_ptr<FakeKubelet> StartKubelet(const std::string& cert, const std::string& key) {
    auto k = std::make_unique<FakeKubelet>(cert, key, kToken);
    k->Serve("/pods", ReadFile(KubeletFixture("pods.nri-k8s-1.35.json")));
    k->Serve("/stats/summary", ReadFile(KubeletFixture("stats-summary.nri-k8s-1.35.json")));
    return k;
  }
  collectors::KubeletOptions Options() const {
    collectors::KubeletOptions o;
    o.url = kubelet_->url();
    o.token_file = *dir_ + "/token";
    o.ca_file = certs_->ca;
    o.node_name = "datagen-1-35";
    o.timeout = absl::Seconds(2);
    return o;
  }
  static uint64_t Errors(const collectors::KubeletState& s, collectors::KubeletEndpoint e,
                         collectors::KubeletError r) {
    return s.errors[static_cast<int>(e)][static_cast<int>(r)];
  }
  static uint64_t TotalErrors(const collectors::KubeletState& s) {
    uint64_t n = 0;
    for (const auto& e : s.errors) for (uint64_t v : e) n += v;
    return n;
  }

  static std::string* dir_;
  static TestCerts* certs_;
  std::unique_ptr<FakeKubelet> kubelet_;
};

// Redirects fd 2 (where the logger writes) to a file until Finish().
class StderrCapture {
 public:
  StderrCapture() : path_(MakeTempDir("kubelet-stderr") + "/err") {
    fflush(stderr);
    saved_ = dup(2);
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
  }
  ~StderrCapture() { Finish(); }
  std::string Finish() {
    if (saved_ >= 0) {
      fflush(stderr);
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
      text_ = ReadFile(path_);
      RemoveTree(path_.substr(0, path_.rfind('/')));
    }
    return text_;
  }

 private:
  std::string path_;
  int saved_ = -1;
  std::string text_;
};

inline int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; pos += needle.size()) ++n;
  return n;
}

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_COLLECTORS_KUBELET_HTTPS_FIXTURE_H_
