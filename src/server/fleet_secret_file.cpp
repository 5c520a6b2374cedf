#include "server/fleet_secret_file.hpp"

#include <stdexcept>

#include "common/files.hpp"
#include "crypto/fleet_password.hpp"

namespace estfleet::server {

namespace fs = std::filesystem;

std::string read_fleet_secret(const fs::path& path) {
  std::error_code error;
  const auto status = fs::status(path, error);
  if (error) {
    throw std::runtime_error("cannot read " + path.string() + ": " + error.message());
  }
  constexpr auto kOthers = fs::perms::group_all | fs::perms::others_all;
  if ((status.permissions() & kOthers) != fs::perms::none) {
    throw std::runtime_error(path.string() +
                             " may be read by group or others; make it 0600 (chmod 600)");
  }
  auto secret = common::read_file(path);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    throw std::runtime_error(path.string() + " is empty");
  }
  return secret;
}

std::string create_fleet_secret(const fs::path& path) {
  fs::create_directories(path.parent_path());
  fs::permissions(path.parent_path(), fs::perms::owner_all);
  auto secret = crypto::generate_fleet_secret();
  common::write_file_atomically(path, secret + "\n",
                                fs::perms::owner_read | fs::perms::owner_write);
  return secret;
}

}  // namespace estfleet::server
