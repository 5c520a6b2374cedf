#include "crypto/key.hpp"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <array>

#include "crypto/der.hpp"
#include "crypto/error.hpp"
#include "crypto/pkcs11_key.hpp"

namespace estfleet::crypto {
namespace {

constexpr std::array<std::pair<std::string_view, KeyType>, 6> kKeyTypes{{
    {"ec-p256", KeyType::ec_p256},
    {"ec-p384", KeyType::ec_p384},
    {"rsa-2048", KeyType::rsa_2048},
    {"rsa-3072", KeyType::rsa_3072},
    {"rsa-4096", KeyType::rsa_4096},
    {"ed25519", KeyType::ed25519},
}};

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

std::optional<KeyType> parse_key_type(std::string_view name) {
  for (const auto& [text, type] : kKeyTypes) {
    if (text == name) {
      return type;
    }
  }
  return std::nullopt;
}

std::string_view key_type_name(KeyType type) {
  for (const auto& [text, candidate] : kKeyTypes) {
    if (candidate == type) {
      return text;
    }
  }
  return "unknown";
}

std::string KeyDescription::to_string() const {
  if (algorithm == "EC") {
    if (curve == "prime256v1")
      return "EC P-256";
    if (curve == "secp384r1")
      return "EC P-384";
    if (curve == "secp521r1")
      return "EC P-521";
    return "EC " + curve;
  }
  if (algorithm == "RSA") {
    return "RSA " + std::to_string(bits);
  }
  return algorithm;
}

KeyDescription describe_key(const EVP_PKEY* key) {
  KeyDescription d;
  d.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      d.algorithm = "RSA";
      break;
    case EVP_PKEY_EC: {
      d.algorithm = "EC";
      std::array<char, 80> group{};
      std::size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                         group.size(), &length) == 1) {
        d.curve.assign(group.data(), length);
      } else {
        clear_openssl_errors();
      }
      break;
    }
    case EVP_PKEY_ED25519:
      d.algorithm = "ED25519";
      break;
    case EVP_PKEY_ED448:
      d.algorithm = "ED448";
      break;
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      d.algorithm = name != nullptr ? name : "unknown";
    }
  }
  return d;
}

const EVP_MD* signature_digest_for(const EVP_PKEY* key) {
  const auto d = describe_key(key);
  if (d.algorithm == "ED25519" || d.algorithm == "ED448") {
    return nullptr;
  }
  if (d.algorithm == "EC" && d.curve == "secp384r1") {
    return EVP_sha384();
  }
  if (d.algorithm == "EC" && d.curve == "secp521r1") {
    return EVP_sha512();
  }
  return EVP_sha256();
}

PrivateKey::PrivateKey(PkeyPtr key) : key_(std::move(key)) {
  if (!key_) {
    throw CryptoError("a private key is required");
  }
}

PrivateKey PrivateKey::generate(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ec_p256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::ec_p384:
      key = EVP_EC_gen("P-384");
      break;
    case KeyType::rsa_2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::rsa_3072:
      key = EVP_RSA_gen(3072);
      break;
    case KeyType::rsa_4096:
      key = EVP_RSA_gen(4096);
      break;
    case KeyType::ed25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key == nullptr) {
    throw_openssl_error("cannot generate a " + std::string(key_type_name(type)) + " key");
  }
  return PrivateKey(PkeyPtr(key));
}

PrivateKey PrivateKey::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>("")));
  if (!key) {
    clear_openssl_errors();
    throw CryptoError("private key is not a valid unencrypted PEM key");
  }
  return PrivateKey(std::move(key));
}

std::string PrivateKey::to_pem() const {
  if (is_token_key(key_.get())) {
    throw CryptoError("the private key is held in a PKCS#11 token and cannot be exported");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
      1) {
    throw_openssl_error("cannot encode the private key as PEM");
  }
  return bio_contents(bio.get());
}

std::string PrivateKey::public_key_der() const {
  return crypto::public_key_der(key_.get());
}

std::string public_key_der(const EVP_PKEY* key) {
  return encode_der(key, i2d_PUBKEY, "the public key");
}

}  // namespace estfleet::crypto
