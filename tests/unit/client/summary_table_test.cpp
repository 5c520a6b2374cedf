#include "client/summary_table.hpp"

#include <gtest/gtest.h>

#include "client/provision.hpp"

namespace estfleet::client {
namespace {

crypto::TimePoint at(std::time_t seconds) {
  return std::chrono::system_clock::from_time_t(seconds);
}

TEST(SummaryTable, AlignsColumnsAndCountsResults) {
  const std::vector<DeviceOutcome> outcomes{
      {"DeviceAlpha", DeviceResult::enrolled, "1A2B", at(1'800'000'000), ""},
      {"B", DeviceResult::skipped, "FF", at(0), "a valid certificate is installed"},
      {"DeviceGamma", DeviceResult::pending, "", std::nullopt, "awaiting approval"},
      {"D", DeviceResult::failed, "", std::nullopt, "the server refused simpleenroll (403): no"},
  };
  EXPECT_EQ(format_summary(outcomes),
            "DEVICE       RESULT    SERIAL  EXPIRES (UTC)         REASON\n"
            "DeviceAlpha  enrolled  1A2B    2027-01-15T08:00:00Z  -\n"
            "B            skipped   FF      1970-01-01T00:00:00Z  a valid certificate is "
            "installed\n"
            "DeviceGamma  pending   -       -                     awaiting approval\n"
            "D            failed    -       -                     the server refused "
            "simpleenroll (403): no\n"
            "4 devices: 1 enrolled, 1 skipped, 1 pending, 1 failed\n");
}

TEST(SummaryTable, OneDeviceIsSingular) {
  const auto text = format_summary({{"A", DeviceResult::enrolled, "01", at(0), ""}});
  EXPECT_NE(text.find("\n1 device: 1 enrolled, 0 skipped, 0 pending, 0 failed\n"),
            std::string::npos)
      << text;
}

TEST(SummaryTable, RenewCountsItsOwnResults) {
  const auto text = format_summary(
      {{"A", DeviceResult::renewed, "02", at(0), "replaced serial 01 (new key)"},
       {"B", DeviceResult::failed, "", std::nullopt, "expired"}},
      {DeviceResult::renewed, DeviceResult::skipped, DeviceResult::pending, DeviceResult::failed});
  EXPECT_NE(text.find("A       renewed  02      1970-01-01T00:00:00Z  replaced serial 01"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n2 devices: 1 renewed, 0 skipped, 0 pending, 1 failed\n"),
            std::string::npos)
      << text;
}

TEST(SummaryTable, ResultNames) {
  EXPECT_EQ(to_string(DeviceResult::renewed), "renewed");
  EXPECT_EQ(to_string(DeviceResult::enrolled), "enrolled");
  EXPECT_EQ(to_string(DeviceResult::skipped), "skipped");
  EXPECT_EQ(to_string(DeviceResult::pending), "pending");
  EXPECT_EQ(to_string(DeviceResult::failed), "failed");
}

TEST(ProvisionExitCode, FailedBeatsPendingBeatsDone) {
  const DeviceOutcome done{"A", DeviceResult::enrolled, {}, {}, {}};
  const DeviceOutcome skipped{"B", DeviceResult::skipped, {}, {}, {}};
  const DeviceOutcome pending{"C", DeviceResult::pending, {}, {}, {}};
  const DeviceOutcome failed{"D", DeviceResult::failed, {}, {}, {}};
  EXPECT_EQ(provision_exit_code({done, skipped}), 0);
  EXPECT_EQ(provision_exit_code({done, pending}), 3);
  EXPECT_EQ(provision_exit_code({pending, failed, done}), 1);
  EXPECT_EQ(provision_exit_code({}), 0);
}

}  // namespace
}  // namespace estfleet::client
