#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "server/admin_audit.hpp"

namespace estfleet::server {
namespace {

constexpr registry::UnixSeconds kNow = 1'748'779'200;  // 2025-06-01T12:00:00Z

TEST(AuditSince, ReadsUnixSeconds) {
  EXPECT_EQ(parse_since("0", kNow), 0);
  EXPECT_EQ(parse_since("1748779200", kNow), kNow);
}

TEST(AuditSince, ReadsDurationsBeforeNow) {
  EXPECT_EQ(parse_since("90s", kNow), kNow - 90);
  EXPECT_EQ(parse_since("15m", kNow), kNow - registry::UnixSeconds{15} * 60);
  EXPECT_EQ(parse_since("24h", kNow), kNow - registry::UnixSeconds{24} * 3600);
  EXPECT_EQ(parse_since("7d", kNow), kNow - registry::UnixSeconds{7} * 86'400);
}

TEST(AuditSince, ReadsRfc3339WithZonesAndFractions) {
  EXPECT_EQ(parse_since("2025-06-01T12:00:00Z", kNow), kNow);
  EXPECT_EQ(parse_since("2025-06-01t12:00:00z", kNow), kNow);
  EXPECT_EQ(parse_since("2025-06-01 12:00:00Z", kNow), kNow);
  EXPECT_EQ(parse_since("2025-06-01T12:00:00.987654Z", kNow), kNow);
  EXPECT_EQ(parse_since("2025-06-01T14:30:00+02:30", kNow), kNow);
  EXPECT_EQ(parse_since("2025-06-01T07:00:00-05:00", kNow), kNow);
  EXPECT_EQ(parse_since("2024-02-29T00:00:00Z", kNow), 1'709'164'800);  // a leap day
  EXPECT_EQ(parse_since("1970-01-01T00:00:00Z", kNow), 0);
}

TEST(AuditSince, RefusesEverythingElseNamingTheValueAndTheForms) {
  for (const std::string bad :
       {"", "yesterday", "-5", "h", "24x", "1.5h", "2025-06-01", "2025-06-01T12:00:00",
        "2025-06-01T12:00Z", "2025-02-30T00:00:00Z", "2025-13-01T00:00:00Z", "2025-06-01T24:00:00Z",
        "2025-06-01T12:00:00+2:00", "2025-06-01T12:00:00.Z", "2025-06-01T12:00:00Z trailing",
        "99999999999999999999"}) {
    try {
      parse_since(bad, kNow);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("'" + bad + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("RFC 3339"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace estfleet::server
