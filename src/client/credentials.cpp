#include "client/credentials.hpp"

#include "client/errors.hpp"
#include "common/files.hpp"

namespace estfleet::client {

std::string read_password_file(const std::filesystem::path& path) {
  std::string text = common::read_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

std::optional<BasicCredentials> basic_credentials(const std::string& user,
                                                  const std::string& password_file,
                                                  const char* env_password) {
  if (user.empty()) {
    return std::nullopt;
  }
  if (!password_file.empty()) {
    return BasicCredentials{user, read_password_file(password_file)};
  }
  if (env_password != nullptr) {
    return BasicCredentials{user, env_password};
  }
  throw ClientError("--user needs --password-file or the EST_PASSWORD environment variable");
}

}  // namespace estfleet::client
