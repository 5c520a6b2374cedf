#include "est/route.hpp"

#include <gtest/gtest.h>

namespace estfleet::est {
namespace {

TEST(Route, DefaultProfileOperations) {
  const auto r = parse_route("/.well-known/est/simpleenroll");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, Operation::simpleenroll);
  EXPECT_EQ(r->label, "");
  EXPECT_EQ(parse_route("/.well-known/est/cacerts?x=1")->operation, Operation::cacerts);
  EXPECT_EQ(parse_route("/.well-known/est/fullcmc")->operation, Operation::fullcmc);
}

TEST(Route, LabelledOperations) {
  const auto r = parse_route("/.well-known/est/factory-1/simplereenroll");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, Operation::simplereenroll);
  EXPECT_EQ(r->label, "factory-1");
}

TEST(Route, RefusesAnythingElse) {
  for (const char* target :
       {"/", "/.well-known/est", "/.well-known/est/", "/.well-known/est/unknown",
        "/.well-known/est/../cacerts", "/.well-known/est/a/b/cacerts", "/.well-known/est//cacerts",
        "/.well-known/est/%2e%2e/cacerts", "/.well-known/est/a.b/cacerts",
        "/.well-known/est/cacerts/", "/.WELL-KNOWN/est/cacerts", "/.well-known/est/CACERTS"}) {
    EXPECT_FALSE(parse_route(target)) << target;
  }
  EXPECT_FALSE(parse_route("/.well-known/est/" + std::string(65, 'a') + "/cacerts"));
}

TEST(Route, MethodsFollowRfc7030) {
  EXPECT_EQ(operation_method(Operation::cacerts), "GET");
  EXPECT_EQ(operation_method(Operation::csrattrs), "GET");
  EXPECT_EQ(operation_method(Operation::simpleenroll), "POST");
  EXPECT_EQ(operation_method(Operation::simplereenroll), "POST");
}

}  // namespace
}  // namespace estfleet::est
