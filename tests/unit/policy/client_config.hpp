// The IoTDetails of examples/client_config.json, the fleet every guide starts from: the policy
// layer must accept them as written.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace estfleet::policy::testing {

inline nlohmann::ordered_json example_client_config() {
  const auto file =
      std::filesystem::path(__FILE__).parent_path() / "../../../examples/client_config.json";
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::ordered_json::parse(text.str());
}

// Each device's IoTDetails, as JSON text in the file's key order.
inline std::vector<std::string> example_iot_details_texts() {
  const auto config = example_client_config();
  std::vector<std::string> texts;
  for (const auto& device : config.at("Devices")) {
    texts.push_back(device.at("IoTDetails").dump());
  }
  return texts;
}

}  // namespace estfleet::policy::testing
