#include "crypto/pkcs7.hpp"

#include "crypto/der.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {

// Written from the certificates' DER rather than through PKCS7 and i2d_PKCS7, which encodes every
// certificate again (all of it, twice, for one OpenSSL has just signed). The bytes are those
// i2d_PKCS7 gives for PKCS7_set_type(signed) + PKCS7_content_new(data) + the certificates in
// order: OpenSSL's template keeps them as a SEQUENCE OF, in the order given, under [0].
std::string pkcs7_certs_only(const std::vector<Certificate>& certs) {
  using namespace std::string_view_literals;  // the constants hold zero octets
  // id-signedData and id-data (RFC 5652 §5.1, §4).
  constexpr std::string_view kSignedData = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"sv;
  constexpr std::string_view kData = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"sv;
  constexpr std::string_view kVersion1 = "\x02\x01\x01"sv;
  constexpr std::string_view kEmptySet = "\x31\x00"sv;
  // encapContentInfo: id-data with an empty [0] OCTET STRING, as PKCS7_content_new leaves it.
  constexpr std::string_view kEmptyData = "\xa0\x02\x04\x00"sv;
  std::string certificates;
  for (const auto& cert : certs) {
    certificates += cert.to_der();
  }
  std::string signed_data(kVersion1);
  signed_data += kEmptySet;  // digestAlgorithms
  signed_data += der_element(0x30, std::string(kData) + std::string(kEmptyData));
  if (!certs.empty()) {  // the [0] is OPTIONAL, and i2d_PKCS7 leaves out an empty one
    signed_data += der_element(0xa0, certificates);
  }
  signed_data += kEmptySet;  // signerInfos
  return der_element(0x30,
                     std::string(kSignedData) + der_element(0xa0, der_element(0x30, signed_data)));
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
