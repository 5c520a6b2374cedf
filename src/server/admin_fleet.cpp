#include "server/admin_fleet.hpp"

#include <stdexcept>

#include "crypto/fleet_password.hpp"
#include "policy/thing_name.hpp"
#include "server/config.hpp"
#include "server/fleet_secret_file.hpp"

namespace estfleet::server {
namespace {

std::string secret_of(const ProfileConfig& profile) {
  const auto table = profile_table_name(profile.label);
  if (!profile.fleet_secret_file) {
    throw std::runtime_error("profile '" + table.substr(table.find('.') + 1) +
                             "' has no fleet secret; set fleet_secret_file in [" + table + "]");
  }
  return read_fleet_secret(*profile.fleet_secret_file);
}

}  // namespace

std::string fleet_secret(const std::filesystem::path& data_dir, const std::string& profile) {
  return secret_of(find_profile(load_config(data_dir), profile));
}

std::string fleet_password(const std::filesystem::path& data_dir, const std::string& thing_name,
                           const std::string& profile) {
  if (!policy::is_valid_thing_name(thing_name)) {
    throw std::runtime_error("'" + thing_name +
                             "' is not a ThingName: it must match [A-Za-z0-9:_-]{1,128}");
  }
  const auto config = load_config(data_dir);
  const auto& chosen = find_profile(config, profile);
  if (chosen.thing_name_pattern && !chosen.thing_name_pattern->matches(thing_name)) {
    throw std::runtime_error("'" + thing_name + "' does not match the thing_name_pattern " +
                             chosen.thing_name_pattern->text() + " of [" +
                             profile_table_name(chosen.label) + "]");
  }
  return crypto::derive_fleet_password(secret_of(chosen), thing_name);
}

}  // namespace estfleet::server
