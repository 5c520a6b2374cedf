#include "client/est_paths.hpp"

#include <gtest/gtest.h>

namespace estfleet::client {
namespace {

TEST(EstPath, DefaultProfile) {
  EXPECT_EQ(est_path("", "", "cacerts"), "/.well-known/est/cacerts");
  EXPECT_EQ(est_path("", "", "simplereenroll"), "/.well-known/est/simplereenroll");
}

TEST(EstPath, LabelledProfile) {
  EXPECT_EQ(est_path("", "factory", "simpleenroll"), "/.well-known/est/factory/simpleenroll");
}

TEST(EstPath, UnderTheUrlPrefix) {
  EXPECT_EQ(est_path("/pki", "", "csrattrs"), "/pki/.well-known/est/csrattrs");
  EXPECT_EQ(est_path("/a/b", "pop", "cacerts"), "/a/b/.well-known/est/pop/cacerts");
}

}  // namespace
}  // namespace estfleet::client
