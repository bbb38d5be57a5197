#include "json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "json_parsers.h"

namespace nodepulse::collectors::kubelet {
namespace {

TEST(JsonReaderTest, ReadsNestedValuesAndSkipsTheRest) {
  JsonReader r(R"( {"a": {"x": [1, {"y": "}]"}], "z": null}, "s": "q\"\\\u00e9\ud83d\ude00", "n": 18446744073709551615, "b": true, "f": 1e3} )");
  std::string_view key;
  std::string s;
  uint64_t n = 0, f = 0;
  bool b = false, present = false;
  ASSERT_TRUE(r.BeginObject());
  while (r.NextKey(&key)) {
    if (key == "s") ASSERT_TRUE(r.ReadString(&s));
    else if (key == "n") ASSERT_TRUE(r.ReadUint64(&n, &present));
    else if (key == "f") ASSERT_TRUE(r.ReadUint64(&f, &present));
    else if (key == "b") ASSERT_TRUE(r.ReadBool(&b, &present));
    else ASSERT_TRUE(r.Skip());
  }
  ASSERT_TRUE(r.Finish()) << r.error();
  EXPECT_EQ(s, "q\"\\\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(n, 18446744073709551615ull);
  EXPECT_EQ(f, 1000u);
  EXPECT_TRUE(b);
}

TEST(JsonReaderTest, NullReadsAsAbsent) {
  JsonReader r(R"({"a": null, "b": null, "c": null})");
  std::string_view key;
  ASSERT_TRUE(r.BeginObject());
  ASSERT_TRUE(r.NextKey(&key));
  uint64_t v = 7;
  bool present = true;
  EXPECT_TRUE(r.ReadUint64(&v, &present));
  EXPECT_FALSE(present);
  ASSERT_TRUE(r.NextKey(&key));
  EXPECT_FALSE(r.BeginArray());  // null, not an error
  EXPECT_TRUE(r.ok());
  ASSERT_TRUE(r.NextKey(&key));
  EXPECT_FALSE(r.BeginObject());
  EXPECT_FALSE(r.NextKey(&key));
  EXPECT_TRUE(r.Finish());
}

TEST(JsonReaderTest, MalformedAndTruncatedInputFailWithOffset) {
  api::PodList pods;
  api::Summary summary;
  for (const char* bad : {"", "<html>", "{", "{\"items\":[", "{\"items\":[{\"metadata\":{\"name\":\"x",
                          "{\"items\": [1,]}", "{\"a\" 1}", "{\"a\":1,}", "[]", "{} x", "{\"a\":[}",
                          "{\"items\":[{\"status\":{\"containerStatuses\":[{\"restartCount\":\"1\"}]}}]}",
                          "{\"pods\":[{\"network\":{\"rxBytes\":-1}}]}", "{\"items\":[{\"metadata\":{\"name\":\"\\u12\"}}]}", "nul"}) {
    absl::Status s1 = ParsePodList(bad, &pods);
    absl::Status s2 = ParseSummary(bad, &summary);
    EXPECT_FALSE(s1.ok() && s2.ok()) << bad;
  }
  absl::Status s = ParsePodList("{\"items\":[{]}", &pods);
  EXPECT_NE(std::string(s.message()).find("at byte"), std::string::npos) << s;
}

TEST(JsonReaderTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{\"items\":[{\"metadata\":{\"annotations\":";
  for (int i = 0; i < 100000; ++i) deep += "[";
  api::PodList pods;
  EXPECT_FALSE(ParsePodList(deep, &pods).ok());
  std::string deep2 = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(ParsePodList(deep2, &pods).ok());
}

TEST(JsonReaderTest, NullDocumentsAreErrors) {
  api::PodList pods;
  EXPECT_FALSE(ParsePodList("null", &pods).ok());
  EXPECT_TRUE(ParsePodList("{\"items\":null}", &pods).ok());
  EXPECT_EQ(pods.items_size(), 0);
}

}  // namespace
}  // namespace nodepulse::collectors::kubelet
