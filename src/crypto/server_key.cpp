#include "crypto/server_key.hpp"

#include "crypto/der.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, OsslDeleter<PKCS8_PRIV_KEY_INFO_free>>;
using OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>>;

Asn1ObjectPtr object_of(const std::string& oid) {
  Asn1ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1));
  if (!object) {
    throw_openssl_error("'" + oid + "' is not a dotted OID");
  }
  return object;
}

// The length of a DER header at `der` (tag plus length octets), and the content length;
// nullopt when it is not a well-formed definite-length header.
struct Header {
  std::size_t header_length;
  std::size_t content_length;
};
std::optional<Header> der_header(std::string_view der) {
  if (der.size() < 2) {
    return std::nullopt;
  }
  const auto first = static_cast<unsigned char>(der[1]);
  if (first < 0x80) {
    return Header{2, first};
  }
  const std::size_t count = first & 0x7F;
  if (count == 0 || count > 4 || der.size() < 2 + count) {
    return std::nullopt;
  }
  std::size_t length = 0;
  for (std::size_t i = 0; i < count; ++i) {
    length = (length << 8) | static_cast<unsigned char>(der[2 + i]);
  }
  return Header{2 + count, length};
}

}  // namespace

std::string pkcs8_der(const PrivateKey& key) {
  Pkcs8Ptr info(EVP_PKEY2PKCS8(key.get()));
  if (!info) {
    throw_openssl_error("cannot encode the private key as PKCS#8");
  }
  return encode_der(info.get(), i2d_PKCS8_PRIV_KEY_INFO, "a PKCS#8 private key");
}

PrivateKey private_key_from_pkcs8(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs8Ptr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!info || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    throw CryptoError("the data is not a DER PKCS#8 PrivateKeyInfo");
  }
  PkeyPtr key(EVP_PKCS82PKEY(info.get()));
  if (!key) {
    throw_openssl_error("the PKCS#8 PrivateKeyInfo holds no usable key");
  }
  return PrivateKey(std::move(key));
}

std::string key_package_der(const PrivateKey& key) {
  const auto one_key = pkcs8_der(key);
  return der_element(0x30, one_key);
}

PrivateKey private_key_from_key_package(std::string_view der) {
  const auto outer = der_header(der);
  if (der.empty() || der.front() != '\x30' || !outer ||
      outer->header_length + outer->content_length != der.size()) {
    throw CryptoError("the data is not a DER AsymmetricKeyPackage (a SEQUENCE of keys)");
  }
  const auto content = der.substr(outer->header_length);
  const auto inner = der_header(content);
  if (!inner || inner->header_length + inner->content_length != content.size()) {
    throw CryptoError("the AsymmetricKeyPackage must hold exactly one key");
  }
  return private_key_from_pkcs8(content);
}

std::string content_info_content(std::string_view der) {
  const auto outer = der_header(der);
  if (der.empty() || der.front() != '\x30' || !outer ||
      outer->header_length + outer->content_length != der.size()) {
    throw CryptoError("the data is not a DER CMS ContentInfo");
  }
  auto rest = der.substr(outer->header_length);
  const auto type = der_header(rest);
  if (rest.empty() || rest.front() != '\x06' || !type) {
    throw CryptoError("the CMS ContentInfo has no content type");
  }
  rest.remove_prefix(type->header_length + type->content_length);
  const auto content = der_header(rest);
  if (rest.empty() || rest.front() != '\xA0' || !content ||
      content->header_length + content->content_length != rest.size()) {
    throw CryptoError("the CMS ContentInfo has no content");
  }
  return std::string(rest.substr(content->header_length));
}

std::string content_info(const std::string& content_type_oid, std::string_view content_der) {
  const auto object = object_of(content_type_oid);
  const auto oid = encode_der(object.get(), i2d_ASN1_OBJECT, "an OID");
  return der_element(0x30, oid + der_element(0xA0, content_der));
}

std::optional<KeyType> key_type_of(const EVP_PKEY* key) {
  const auto description = describe_key(key);
  if (description.algorithm == "EC") {
    if (description.curve == "prime256v1") {
      return KeyType::ec_p256;
    }
    if (description.curve == "secp384r1") {
      return KeyType::ec_p384;
    }
    return std::nullopt;
  }
  if (description.algorithm == "RSA") {
    switch (description.bits) {
      case 2048:
        return KeyType::rsa_2048;
      case 3072:
        return KeyType::rsa_3072;
      case 4096:
        return KeyType::rsa_4096;
      default:
        return std::nullopt;
    }
  }
  if (description.algorithm == "ED25519") {
    return KeyType::ed25519;
  }
  return std::nullopt;
}

std::optional<std::string> subject_key_identifier(const Certificate& cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert.get());
  if (ski == nullptr) {
    clear_openssl_errors();
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                     static_cast<std::size_t>(ASN1_STRING_length(ski)));
}

void add_key_identifier_attribute(CertificateRequest& csr, const std::string& oid,
                                  std::string_view key_id, const PrivateKey& key) {
  const auto object = object_of(oid);
  if (X509_REQ_add1_attr_by_OBJ(csr.mutable_request(), object.get(), V_ASN1_OCTET_STRING,
                                reinterpret_cast<const unsigned char*>(key_id.data()),
                                static_cast<int>(key_id.size())) != 1) {
    throw_openssl_error("cannot add the CSR attribute " + oid);
  }
  if (X509_REQ_sign(csr.mutable_request(), key.get(), signature_digest_for(key.get())) <= 0) {
    throw_openssl_error("signing the CSR failed");
  }
}

std::optional<std::string> key_identifier_attribute(const CertificateRequest& csr,
                                                    const std::string& oid) {
  const auto object = object_of(oid);
  const int index = csr.find_attribute(object.get());
  if (index < 0) {
    return std::nullopt;
  }
  if (csr.find_attribute(object.get(), index) >= 0) {
    throw CryptoError("the CSR carries the attribute " + oid + " more than once");
  }
  auto* attribute = const_cast<X509_ATTRIBUTE*>(csr.attribute(index));
  if (X509_ATTRIBUTE_count(attribute) != 1) {
    throw CryptoError("the CSR attribute " + oid + " must hold exactly one value");
  }
  const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
  if (value == nullptr || value->type != V_ASN1_OCTET_STRING ||
      value->value.octet_string->length == 0) {
    throw CryptoError("the CSR attribute " + oid + " must hold a non-empty KeyIdentifier");
  }
  return std::string(reinterpret_cast<const char*>(value->value.octet_string->data),
                     static_cast<std::size_t>(value->value.octet_string->length));
}

}  // namespace estfleet::crypto
