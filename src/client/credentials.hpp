// HTTP Basic credentials for initial enrollment, as the device is given them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace estfleet::client {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The contents of a password file without its trailing line ending(s), the way
// `est-server user add --password-file` reads it, so both sides agree on the same file.
std::string read_password_file(const std::filesystem::path& path);

// Credentials for `user` (none when `user` is empty): the password comes from `password_file`
// when given, else from `env_password` ($EST_PASSWORD, may be null). Throws ClientError when a
// user has no password source.
std::optional<BasicCredentials> basic_credentials(const std::string& user,
                                                  const std::string& password_file,
                                                  const char* env_password);

}  // namespace estfleet::client
