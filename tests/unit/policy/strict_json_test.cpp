// The strict JSON reader under IoTDetails and policy documents: error paths, duplicate keys, and
// hostile nesting refused early and cheaply.
#include "policy/strict_json.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "policy/iot_details.hpp"
#include "policy/policy_error.hpp"

namespace estfleet::policy {
namespace {

// The PolicyError parse_strict_json throws for `text`; fails the test when it throws none.
PolicyError refusal_of(const std::string& text) {
  try {
    parse_strict_json(text);
  } catch (const PolicyError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 80);
  return PolicyError("", "");
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) {
    text += R"({"a":)";
  }
  text += "1";
  text += std::string(depth, '}');
  return text;
}

TEST(ParseStrictJson, RefusesANumberNoDoubleHolds) {
  const auto e = refusal_of(R"({"ThingName": "d", "x": [-1E400]})");
  EXPECT_EQ(e.path(), "$");
  EXPECT_NE(std::string(e.what()).find("number too large"), std::string::npos) << e.what();
  EXPECT_THROW(parse_iot_details_text("1e999"), PolicyError);
}

TEST(ParseStrictJson, AcceptsNestingUpToTheLimit) {
  EXPECT_EQ(kMaxJsonDepth, 8U);
  EXPECT_NO_THROW(parse_strict_json(nested_arrays(kMaxJsonDepth)));
  EXPECT_NO_THROW(parse_strict_json(nested_objects(kMaxJsonDepth)));
  // Depth is counted along one branch, not summed over siblings.
  std::string siblings = "[";
  for (int i = 0; i < 100; ++i) {
    siblings += (i == 0 ? "" : ",") + nested_arrays(kMaxJsonDepth - 1);
  }
  siblings += "]";
  EXPECT_NO_THROW(parse_strict_json(siblings));
}

TEST(ParseStrictJson, RefusesOneLevelMoreNamingWhereItOpens) {
  auto error = refusal_of(nested_arrays(kMaxJsonDepth + 1));
  EXPECT_EQ(error.path(), "$[0][0][0][0][0][0][0][0]");
  EXPECT_EQ(error.message(), "objects and arrays are nested deeper than 8 levels here");

  error = refusal_of(nested_objects(kMaxJsonDepth + 1));
  EXPECT_EQ(error.path(), "$.a.a.a.a.a.a.a.a");

  error = refusal_of(R"({"Topics": [1, {"my key": [[[[[[{}]]]]]]}]})");
  EXPECT_EQ(error.path(), R"($.Topics[1]["my key"][0][0][0][0][0])");
}

TEST(ParseStrictJson, RefusesHundredThousandLevelsQuickly) {
  for (const auto& text : {nested_arrays(100000), nested_objects(100000)}) {
    const auto start = std::chrono::steady_clock::now();
    const auto error = refusal_of(text);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(error.path().size(), text.front() == '[' ? 25U : 17U) << error.path();
    // Refused when the ninth level opens: the rest of the text is never read. The bound is loose
    // for slow machines; a reader that kept the path of every level would need O(depth^2), some
    // 15 GB, here.
    EXPECT_LT(elapsed, std::chrono::milliseconds(200));
  }
}

TEST(ParseStrictJson, NamesADuplicateKeyAtItsPath) {
  auto error = refusal_of(R"({"S": [{"x": 1}, {"x": 1, "y": [{"k": 1, "k": 2}]}]})");
  EXPECT_EQ(error.path(), "$.S[1].y[0].k");
  EXPECT_EQ(error.message(), "this key appears twice in one object");
  error = refusal_of(R"({"a b": {"\n": 1, "\n": 2}})");
  EXPECT_EQ(error.path(), R"($["a b"]["\n"])");
}

TEST(ParseStrictJson, IotDetailsTooDeepAreRefusedAtTheirPath) {
  try {
    parse_iot_details_text(R"({"ThingName": "D", "Topics": {"Publish": {"N": [[[[[[[]]]]]]]}}})");
    ADD_FAILURE() << "accepted";
  } catch (const PolicyError& e) {
    EXPECT_EQ(e.path(), "$.Topics.Publish.N[0][0][0][0][0]");
  }
}

}  // namespace
}  // namespace estfleet::policy
