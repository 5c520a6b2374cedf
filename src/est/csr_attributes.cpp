#include "est/csr_attributes.hpp"

#include <openssl/objects.h>

#include "crypto/der.hpp"
#include "crypto/error.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::est {
namespace {

std::string der_length(std::size_t length) {
  if (length < 0x80) {
    return std::string(1, static_cast<char>(length));
  }
  std::string bytes;
  while (length > 0) {
    bytes.insert(bytes.begin(), static_cast<char>(length & 0xFF));
    length >>= 8;
  }
  return static_cast<char>(0x80 | bytes.size()) + bytes;
}

std::string tlv(unsigned char tag, const std::string& content) {
  return static_cast<char>(tag) + der_length(content.size()) + content;
}

std::string oid(const char* dotted) {
  crypto::Asn1ObjectPtr object(OBJ_txt2obj(dotted, 1));
  if (!object) {
    crypto::throw_openssl_error("cannot encode OID");
  }
  return crypto::encode_der(object.get(), i2d_ASN1_OBJECT, "an OID");
}

constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;

}  // namespace

std::string csr_attributes_der(const EnrollmentProfile& profile) {
  std::string items;
  if (profile.require_pop) {
    items += oid("1.2.840.113549.1.9.7");  // challengePassword
  }
  // Attribute { ecPublicKey, SET { prime256v1 } }: "use an EC P-256 key".
  items += tlv(kSequence, oid("1.2.840.10045.2.1") + tlv(kSet, oid("1.2.840.10045.3.1.7")));
  items += oid("1.2.840.10045.4.3.2");  // ecdsa-with-SHA256
  return tlv(kSequence, items);
}

}  // namespace estfleet::est
