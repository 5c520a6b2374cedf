#include "ca/signer.hpp"

#include <stdexcept>

#include "common/files.hpp"

namespace estfleet::ca {

std::string SigningKeySource::describe() const {
  return token_key ? token_key->describe() : file.string();
}

crypto::PrivateKey open_signing_key(const SigningKeySource& source) {
  if (source.token_key) {
    return crypto::load_pkcs11_private_key(*source.token_key, source.access);
  }
  return crypto::PrivateKey::from_pem(common::read_file(source.file));
}

Authority load_authority(const SigningKeySource& key, const std::filesystem::path& chain_file) {
  if (!key.token_key) {
    return Authority::load(key.file, chain_file);
  }
  try {
    auto signing_key = open_signing_key(key);
    auto chain = crypto::Certificate::chain_from_pem(common::read_file(chain_file));
    return Authority(std::move(signing_key), std::move(chain));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load the CA from " + key.describe() + " and " +
                             chain_file.string() + ": " + e.what());
  }
}

}  // namespace estfleet::ca
