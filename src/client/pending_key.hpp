// The key of a first enrollment, saved (0600) before its request is sent: when the answer is
// lost (a timeout, a dropped connection, a crash), the request is asked again with the same key,
// which the server answers with the same certificate, where another key would be refused for a
// name already issued. Shared by `provision` and `enroll`.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "crypto/key.hpp"

namespace estfleet::client {

struct RequestKey {
  crypto::PrivateKey key;
  std::string note;  // "reused the key of the pending request", ...; empty for a new key
};

// The key saved in `pending` when this user wrote it there (common::read_own_secret_file; one
// another user slipped in throws) and `fresh` is false; else a key from `generate`, written to
// `pending` before it is returned. An unreadable saved key is replaced, and so is one that
// `installed` says a certificate already installed is for (a run that ended between writing
// its files and removing the saved key); the note says so.
RequestKey request_key(const std::filesystem::path& pending,
                       const std::function<crypto::PrivateKey()>& generate, bool fresh,
                       const std::function<bool(const crypto::PrivateKey&)>& installed = {});

// Where `est-client enroll --key-out KEY` saves the key of a request for `common_name`:
// KEY.<common name>.pending, so that a request for another name never takes it (a name with
// other characters than letters, digits and ".:_-", or longer than 64, is named by its SHA-256).
std::filesystem::path enroll_pending_key(const std::filesystem::path& key_out,
                                         std::string_view common_name);

}  // namespace estfleet::client
