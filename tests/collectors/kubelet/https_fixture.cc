#include "https_fixture.h"

namespace nodepulse::testing {
std::string* KubeletHttpsTest::dir_ = nullptr;
TestCerts* KubeletHttpsTest::certs_ = nullptr;
}  // namespace nodepulse::testing
