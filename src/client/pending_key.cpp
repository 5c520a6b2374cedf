#include "client/pending_key.hpp"

#include "common/files.hpp"

namespace estfleet::client {

RequestKey request_key(const std::filesystem::path& pending,
                       const std::function<crypto::PrivateKey()>& generate, bool fresh) {
  std::string note;
  if (!fresh) {
    if (const auto saved = common::read_own_secret_file(pending)) {
      try {
        return RequestKey{crypto::PrivateKey::from_pem(*saved),
                          "reused the key of the pending request"};
      } catch (const std::exception&) {
        note = "replaced the unreadable pending key";
      }
    }
  }
  auto key = generate();
  common::write_file_atomically(pending, key.to_pem(), common::kSecretFileMode);
  return RequestKey{std::move(key), std::move(note)};
}

}  // namespace estfleet::client
