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

TEST(ThingStatus, RoundTripsThroughText) {
  for (const auto status : {ThingStatus::active, ThingStatus::disabled}) {
    EXPECT_EQ(parse_thing_status(to_string(status)), status);
  }
  EXPECT_EQ(to_string(ThingStatus::disabled), "disabled");
  EXPECT_FALSE(parse_thing_status("Disabled").has_value());
  EXPECT_FALSE(parse_thing_status("").has_value());
}

TEST(RequestStatus, RoundTripsThroughText) {
  for (const auto status : {RequestStatus::pending, RequestStatus::approved,
                            RequestStatus::rejected, RequestStatus::issued}) {
    EXPECT_EQ(parse_request_status(to_string(status)), status);
  }
  EXPECT_EQ(to_string(RequestStatus::issued), "issued");
  EXPECT_FALSE(parse_request_status("Pending").has_value());
  EXPECT_FALSE(parse_request_status("").has_value());
}

}  // namespace
}  // namespace estfleet::registry
