#include "crypto/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <limits>
#include <memory>

#include "crypto/error.hpp"

namespace estfleet::crypto {

namespace {

// Fetched once: EVP_sha256() is looked up again in the provider's method store, under its lock,
// every time a digest is made with it.
const EVP_MD* fetched_sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) {
    throw_openssl_error("SHA-256 is not available");
  }
  return md;
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* context) const noexcept { EVP_MAC_CTX_free(context); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// An HMAC-SHA256 context per thread, made once and keyed again for each message: the one-shot
// HMAC() fetches the MAC and the digest from the provider's method store, under its lock, on
// every call, and it runs twice per enrollment (credential cache, fleet passwords).
EVP_MAC_CTX* hmac_sha256_context() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) {
    throw_openssl_error("HMAC is not available");
  }
  thread_local const MacCtxPtr context = [] {
    MacCtxPtr made(EVP_MAC_CTX_new(mac));
    const std::array params{
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end()};
    if (!made || EVP_MAC_CTX_set_params(made.get(), params.data()) != 1) {
      throw_openssl_error("cannot set up HMAC-SHA256");
    }
    return made;
  }();
  return context.get();
}

}  // namespace

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), nullptr,
                 fetched_sha256(), nullptr) != 1) {
    throw_openssl_error("SHA-256 failed");
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  EVP_MAC_CTX* context = hmac_sha256_context();
  // A null key would mean "the previous key" to EVP_MAC_init; an empty one is a key too.
  static constexpr unsigned char kNoKeyBytes = 0;
  const auto* key_bytes =
      key.empty() ? &kNoKeyBytes : reinterpret_cast<const unsigned char*>(key.data());
  std::string out(32, '\0');
  std::size_t length = 0;
  if (EVP_MAC_init(context, key_bytes, key.size(), nullptr) != 1 ||
      EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(context, reinterpret_cast<unsigned char*>(out.data()), &length, out.size()) !=
          1 ||
      length != out.size()) {
    throw_openssl_error("HMAC-SHA256 failed");
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw CryptoError("cannot draw more than 2 GiB of random bytes at once");
  }
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw_openssl_error("the random number generator failed");
  }
  return out;
}

}  // namespace estfleet::crypto
