#include <gtest/gtest.h>

#include "registry/store.hpp"

namespace estfleet::registry {
namespace {

TEST(CertificateStatus, RoundTripsThroughText) {
  for (const auto status :
       {CertificateStatus::active, CertificateStatus::superseded, CertificateStatus::revoked}) {
    EXPECT_EQ(parse_certificate_status(to_string(status)), status);
  }
  EXPECT_EQ(to_string(CertificateStatus::superseded), "superseded");
}

TEST(CertificateStatus, RejectsUnknownText) {
  EXPECT_FALSE(parse_certificate_status("Active").has_value());
  EXPECT_FALSE(parse_certificate_status("").has_value());
}

}  // namespace
}  // namespace estfleet::registry
