#include "crypto/pkcs7.hpp"

#include "crypto/der.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {

std::string pkcs7_certs_only(const std::vector<Certificate>& certs) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    throw_openssl_error("cannot build a PKCS#7 certs-only message");
  }
  for (const auto& cert : certs) {
    if (PKCS7_add_certificate(p7.get(), cert.get()) != 1) {
      throw_openssl_error("cannot add a certificate to PKCS#7");
    }
  }
  return encode_der(p7.get(), i2d_PKCS7, "PKCS#7");
}

std::vector<Certificate> parse_pkcs7_certs_only(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size() ||
      PKCS7_type_is_signed(p7.get()) == 0 || p7->d.sign == nullptr || p7->d.sign->cert == nullptr) {
    clear_openssl_errors();
    throw CryptoError("response is not a PKCS#7 certs-only message");
  }
  std::vector<Certificate> certs;
  for (int i = 0; i < sk_X509_num(p7->d.sign->cert); ++i) {
    X509* cert = sk_X509_value(p7->d.sign->cert, i);
    X509_up_ref(cert);
    certs.emplace_back(X509Ptr(cert));
  }
  if (certs.empty()) {
    throw CryptoError("the PKCS#7 certs-only message holds no certificate");
  }
  return certs;
}

}  // namespace estfleet::crypto
