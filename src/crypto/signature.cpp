#include "crypto/signature.hpp"

#include "crypto/error.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {
namespace {

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

std::string sign_message(const EVP_PKEY* key, std::string_view message) {
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  // EVP_DigestSignInit takes a non-const key but does not modify it.
  auto* pkey = const_cast<EVP_PKEY*>(key);
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, signature_digest_for(key), nullptr, pkey) != 1) {
    throw_openssl_error("cannot start a signature with the key");
  }
  std::size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, bytes(message), message.size()) != 1) {
    throw_openssl_error("cannot size the signature");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     bytes(message), message.size()) != 1) {
    throw_openssl_error("the key failed to sign");
  }
  signature.resize(length);
  return signature;
}

bool verify_message(const EVP_PKEY* key, std::string_view message, std::string_view signature) {
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  auto* pkey = const_cast<EVP_PKEY*>(key);
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, signature_digest_for(key), nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message),
                       message.size()) == 1;
  if (!ok) {
    clear_openssl_errors();
  }
  return ok;
}

}  // namespace estfleet::crypto
