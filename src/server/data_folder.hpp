// One server's state in one folder: est-server.toml, ca/, tls/ and the SQLite registry.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace estfleet::server {

struct InitOptions {
  std::filesystem::path data_dir;
  std::vector<std::string> extra_hostnames;  // added to localhost, 127.0.0.1 and ::1
  bool force = false;  // replace an existing CA (the old files are moved aside, not deleted)
  // Import an existing issuing CA instead of creating one: its key and its chain (issuing CA
  // first, root last), both PEM.
  std::optional<std::filesystem::path> import_ca_key;
  std::optional<std::filesystem::path> import_ca_chain;
  // Generate the issuing CA key inside this PKCS#11 token (an RFC 7512 URI naming token and
  // object) instead of in a file: the key never exists outside the token, and est-server.toml's
  // ca.key becomes the URI. The PIN comes from pkcs11_pin_file, else EST_PKCS11_PIN.
  std::optional<std::string> pkcs11_uri;
  std::optional<std::filesystem::path> pkcs11_pin_file;
  std::optional<std::filesystem::path> pkcs11_module;
};

struct InitResult {
  std::string root_fingerprint;                      // lower-case hex SHA-256 of ca/root.pem's DER
  std::optional<std::filesystem::path> moved_aside;  // where --force put the previous CA
  std::optional<std::string> pkcs11_key;  // the token key's URI (with its id), for --pkcs11
};

// Throws std::runtime_error with one sentence (e.g. the folder already holds a CA).
InitResult initialize_data_folder(const InitOptions& options);

}  // namespace estfleet::server
