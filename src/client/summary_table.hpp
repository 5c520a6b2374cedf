// What happened to each device of a provisioning run, as a table a factory operator reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"

namespace estfleet::client {

enum class DeviceResult { enrolled, skipped, pending, failed, renewed };
std::string_view to_string(DeviceResult result);

struct DeviceOutcome {
  std::string thing_name;
  DeviceResult result = DeviceResult::failed;
  std::string serial;                        // of the certificate in place; empty when none
  std::optional<crypto::TimePoint> expires;  // its notAfter
  std::string reason;                        // one sentence; empty when nothing needs saying
};

// "2026-03-01T12:00:00Z".
std::string utc_text(crypto::TimePoint time);

// Aligned columns DEVICE, RESULT, SERIAL, EXPIRES (UTC), REASON (the last one unpadded, since
// reasons are long), "-" for an empty cell, then a line counting each result of `counted`
// (provision's results by default; renew counts renewed, skipped, pending, failed).
std::string format_summary(const std::vector<DeviceOutcome>& outcomes,
                           const std::vector<DeviceResult>& counted = {
                               DeviceResult::enrolled, DeviceResult::skipped, DeviceResult::pending,
                               DeviceResult::failed});

}  // namespace estfleet::client
