// est-client's client_config.json loader (provision/renew): the whole file is untrusted text as
// far as the parser is concerned. Refusals are ConfigError naming the JSON path; anything else
// escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client/fleet_config.hpp"

using namespace estfleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = client::parse_fleet_config(text, "/nonexistent/fuzz");
    (void)config;
  } catch (const client::ConfigError&) {
  }
  return 0;
}
