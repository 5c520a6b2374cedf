#include "client/pending_key.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/files.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::client {

RequestKey request_key(const std::filesystem::path& pending,
                       const std::function<crypto::PrivateKey()>& generate, bool fresh,
                       const std::function<bool(const crypto::PrivateKey&)>& installed) {
  std::string note;
  if (!fresh) {
    if (const auto saved = common::read_own_secret_file(pending)) {
      std::optional<crypto::PrivateKey> key;
      try {
        key.emplace(crypto::PrivateKey::from_pem(*saved));
      } catch (const std::exception&) {
        note = "replaced the unreadable pending key";
      }
      if (key && installed && installed(*key)) {
        note = "replaced the pending key, which the installed certificate is already for";
      } else if (key) {
        return RequestKey{std::move(*key), "reused the key of the pending request"};
      }
    }
  }
  auto key = generate();
  common::write_file_atomically(pending, key.to_pem(), common::kSecretFileMode);
  return RequestKey{std::move(key), std::move(note)};
}

std::filesystem::path enroll_pending_key(const std::filesystem::path& key_out,
                                         std::string_view common_name) {
  const bool plain = !common_name.empty() && common_name.size() <= 64 &&
                     common_name.front() != '.' &&
                     std::all_of(common_name.begin(), common_name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' ||
                              c == ':' || c == '_' || c == '-';
                     });
  const std::string name =
      plain ? std::string(common_name)
            : "sha256-" + crypto::hex_encode(crypto::sha256(common_name)).substr(0, 32);
  auto path = key_out;
  path += "." + name + ".pending";
  return path;
}

}  // namespace estfleet::client
