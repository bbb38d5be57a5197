#include <gtest/gtest.h>

#include "kubelet_test_util.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors {
namespace {

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("kubelet-options");
    sa_ = dir_ + "/sa";
    testing::RunCommand({"mkdir", "-p", sa_});
    testing::WriteFile(sa_ + "/token", "tok\n");
    testing::WriteFile(sa_ + "/ca.crt", "pem");
  }
  void TearDown() override { testing::RemoveTree(dir_); }
  KubeletEnvironment Env(bool in_cluster) {
    KubeletEnvironment e;
    e.serviceaccount_dir = sa_;
    if (in_cluster) {
      e.kubernetes_service_host = "10.96.0.1";
      e.kubernetes_service_port = "443";
    }
    return e;
  }
  std::string dir_, sa_;
};

TEST_F(OptionsTest, NotInClusterAndNothingConfiguredIsNotFound) {
  auto o = KubeletOptionsFromEnvironment({}, Env(false));
  EXPECT_TRUE(absl::IsNotFound(o.status())) << o.status();
}

TEST_F(OptionsTest, InClusterDefaults) {
  KubeletEnvironment e = Env(true);
  e.node_ip = "192.168.67.2";
  e.node_name = "node-a";
  auto o = KubeletOptionsFromEnvironment({}, e);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->url, "https://192.168.67.2:10250");
  EXPECT_EQ(o->token_file, sa_ + "/token");
  EXPECT_EQ(o->ca_file, sa_ + "/ca.crt");
  EXPECT_EQ(o->node_name, "node-a");
  EXPECT_EQ(o->interval, absl::Seconds(10));
}

TEST_F(OptionsTest, Ipv6NodeIpIsBracketed) {
  KubeletEnvironment e = Env(true);
  e.node_ip = "fd00::5";
  EXPECT_EQ(KubeletOptionsFromEnvironment({}, e)->url, "https://[fd00::5]:10250");
}

TEST_F(OptionsTest, InClusterWithoutNodeIpNeedsAFlag) {
  auto o = KubeletOptionsFromEnvironment({}, Env(true));
  EXPECT_TRUE(absl::IsFailedPrecondition(o.status())) << o.status();
}

TEST_F(OptionsTest, ApiServerProxy) {
  KubeletOptions flags;
  flags.apiserver_proxy = true;
  KubeletEnvironment e = Env(true);
  EXPECT_FALSE(KubeletOptionsFromEnvironment(flags, e).ok());  // no node name
  e.node_name = "node-a";
  auto o = KubeletOptionsFromEnvironment(flags, e);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->url, "https://10.96.0.1:443/api/v1/nodes/node-a/proxy");
}

TEST_F(OptionsTest, ExplicitFlagsWinAndAreChecked) {
  KubeletOptions flags;
  flags.url = "https://10.0.0.1:10250/";
  flags.insecure_skip_verify = true;
  auto o = KubeletOptionsFromEnvironment(flags, Env(true));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->url, "https://10.0.0.1:10250");
  EXPECT_EQ(o->ca_file, "");  // skip-verify: no CA needed
  flags.url = "ftp://x";
  EXPECT_TRUE(absl::IsInvalidArgument(KubeletOptionsFromEnvironment(flags, Env(false)).status()));
  flags.url = "https://x";
  flags.token_file = dir_ + "/missing";
  auto bad = KubeletOptionsFromEnvironment(flags, Env(false));
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(std::string(bad.status().message()).find("missing"), std::string::npos);
  // A laptop with a --kubelet-url does not pick up service-account files.
  KubeletOptions laptop;
  laptop.url = "https://127.0.0.1:10250";
  auto l = KubeletOptionsFromEnvironment(laptop, Env(false));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->token_file, "");
}

}  // namespace
}  // namespace nodepulse::collectors
