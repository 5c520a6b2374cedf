// `est-server broker config|sync|status`: the admin side of the Mosquitto integration.
#pragma once

#include <filesystem>
#include <string>

#include "server/broker_setup.hpp"

namespace estfleet::server {

// Writes the broker's configuration; returns what was written and how to start the broker.
std::string configure_broker(const BrokerSetupOptions& options);

// Re-applies every thing (compared first, so a second run changes nothing), removes broker
// clients that are not registered things, prints a summary. Throws std::runtime_error when no
// broker is configured or it cannot be reached (the changes stay queued).
struct BrokerSyncOutcome {
  std::string text;
  bool failed = false;  // some thing could not be applied (exit status 1)
};
BrokerSyncOutcome sync_broker(const std::filesystem::path& data_dir, bool json);

// The pending count and whether the broker process runs.
std::string broker_status(const std::filesystem::path& data_dir, bool json);

}  // namespace estfleet::server
