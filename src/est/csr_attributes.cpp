#include "est/csr_attributes.hpp"

#include <openssl/objects.h>

#include <algorithm>

#include "crypto/der.hpp"
#include "crypto/error.hpp"
#include "crypto/ossl.hpp"
#include "crypto/server_key.hpp"
#include "est/refusal.hpp"

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

std::string oid(const std::string& dotted) {
  crypto::Asn1ObjectPtr object(OBJ_txt2obj(dotted.c_str(), 1));
  if (!object) {
    crypto::throw_openssl_error("cannot encode OID");
  }
  return crypto::encode_der(object.get(), i2d_ASN1_OBJECT, "an OID");
}

std::string integer(int value) {
  std::string bytes;
  for (auto v = static_cast<unsigned>(value); v > 0; v >>= 8) {
    bytes.insert(bytes.begin(), static_cast<char>(v & 0xFF));
  }
  if (bytes.empty() || (static_cast<unsigned char>(bytes.front()) & 0x80) != 0) {
    bytes.insert(bytes.begin(), '\0');
  }
  return tlv(0x02, bytes);
}

constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;
constexpr unsigned char kUtf8String = 0x0C;
constexpr const char* kEcPublicKey = "1.2.840.10045.2.1";
constexpr const char* kRsaEncryption = "1.2.840.113549.1.1.1";
constexpr const char* kEd25519 = "1.3.101.112";
constexpr const char* kCommonName = "2.5.4.3";

struct KeyAlgorithm {
  const char* algorithm;
  const char* curve = nullptr;  // EC only
  int rsa_bits = 0;             // RSA only
  const char* signature = nullptr;
};

KeyAlgorithm algorithm_of(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::ec_p256:
      return {kEcPublicKey, "1.2.840.10045.3.1.7", 0, "1.2.840.10045.4.3.2"};
    case crypto::KeyType::ec_p384:
      return {kEcPublicKey, "1.3.132.0.34", 0, "1.2.840.10045.4.3.3"};
    case crypto::KeyType::rsa_2048:
      return {kRsaEncryption, nullptr, 2048, "1.2.840.113549.1.1.11"};
    case crypto::KeyType::rsa_3072:
      return {kRsaEncryption, nullptr, 3072, "1.2.840.113549.1.1.11"};
    case crypto::KeyType::rsa_4096:
      return {kRsaEncryption, nullptr, 4096, "1.2.840.113549.1.1.11"};
    case crypto::KeyType::ed25519:
      return {kEd25519};
  }
  return {kEcPublicKey, "1.2.840.10045.3.1.7", 0, "1.2.840.10045.4.3.2"};
}

// RFC 9908 §3.2: the key type as an attribute (or, for Ed25519, the bare algorithm OID).
std::string key_type_item(const KeyAlgorithm& key) {
  if (key.curve != nullptr) {
    return tlv(kSequence, oid(key.algorithm) + tlv(kSet, oid(key.curve)));
  }
  if (key.rsa_bits != 0) {
    return tlv(kSequence, oid(key.algorithm) + tlv(kSet, integer(key.rsa_bits)));
  }
  return oid(key.algorithm);
}

// RFC 9908 §3.4 CertificationRequestInfoTemplate.
std::string request_template(const CsrRequirements& wanted) {
  // NameTemplate: the CN without a value (the client writes its ThingName), then the profile's.
  std::string rdns = tlv(kSet, tlv(kSequence, oid(kCommonName)));
  for (const auto& [type, value] : wanted.subject) {
    rdns += tlv(kSet, tlv(kSequence, oid(type) + (value ? tlv(kUtf8String, *value) : "")));
  }
  std::string body = integer(0) + tlv(kSequence, rdns);
  if (wanted.key_type) {
    const auto key = algorithm_of(*wanted.key_type);
    std::string algorithm = oid(key.algorithm);
    if (key.curve != nullptr) {
      algorithm += oid(key.curve);
    } else if (key.rsa_bits != 0) {
      algorithm += std::string("\x05\x00", 2);  // NULL parameters
    }
    body += tlv(0xA0, tlv(kSequence, algorithm));  // [0] IMPLICIT SubjectPublicKeyInfoTemplate
  }
  std::string attributes;
  if (!wanted.extensions.empty()) {
    std::string templates;
    for (const auto& extension : wanted.extensions) {
      templates += tlv(kSequence, oid(extension));  // extnValue absent: the client supplies it
    }
    attributes =
        tlv(kSequence, oid(kExtensionRequestTemplateOid) + tlv(kSet, tlv(kSequence, templates)));
  }
  body += tlv(0xA1, attributes);  // [1] IMPLICIT Attributes
  return tlv(kSequence, oid(kCsrTemplateOid) + tlv(kSet, tlv(kSequence, body)));
}

// The values of subject attribute `type` in the CSR, as UTF-8.
std::vector<std::string> subject_values(const crypto::CertificateRequest& csr,
                                        const std::string& type) {
  crypto::Asn1ObjectPtr object(OBJ_txt2obj(type.c_str(), 1));
  const X509_NAME* name = csr.subject_name();
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_OBJ(name, object.get(), -1); i >= 0;
       i = X509_NAME_get_index_by_OBJ(name, object.get(), i)) {
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (length >= 0) {
      crypto::OpensslBytesPtr owned(utf8);
      values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    }
  }
  return values;
}

std::string display_name(const std::string& dotted) {
  crypto::Asn1ObjectPtr object(OBJ_txt2obj(dotted.c_str(), 1));
  const int nid = object ? OBJ_obj2nid(object.get()) : NID_undef;
  if (nid != NID_undef) {
    return OBJ_nid2sn(nid);
  }
  return dotted;
}

}  // namespace

std::string csr_attributes_der(const EnrollmentProfile& profile) {
  const auto& wanted = profile.csrattrs;
  std::string items;
  if (profile.require_pop) {
    items += oid("1.2.840.113549.1.9.7");  // challengePassword
  }
  const auto key = algorithm_of(wanted.key_type.value_or(crypto::KeyType::ec_p256));
  items += key_type_item(key);
  if (key.signature != nullptr) {
    items += oid(key.signature);
  }
  if (wanted.key_type || !wanted.subject.empty() || !wanted.extensions.empty()) {
    items += request_template(wanted);
  }
  return tlv(kSequence, items);
}

void check_csr_requirements(const crypto::CertificateRequest& csr, const EnrollmentProfile& profile,
                            bool check_key, bool check_subject) {
  const auto& wanted = profile.csrattrs;
  if (!wanted.enforce) {
    return;
  }
  if (check_key && wanted.key_type && crypto::key_type_of(csr.public_key()) != wanted.key_type) {
    throw Refusal(400, "the CSR's key is " + crypto::describe_key(csr.public_key()).to_string() +
                           ", but csrattrs requires the key type " +
                           std::string(crypto::key_type_name(*wanted.key_type)) +
                           " (subjectPKInfo)");
  }
  if (check_subject) {
    for (const auto& [type, value] : wanted.subject) {
      const auto values = subject_values(csr, type);
      if (values.empty()) {
        throw Refusal(400, "the CSR's subject lacks the attribute " + display_name(type) +
                               " that csrattrs requires");
      }
      if (value && std::find(values.begin(), values.end(), *value) == values.end()) {
        throw Refusal(400, "the CSR's subject attribute " + display_name(type) + " is '" +
                               values.front() + "', csrattrs requires '" + *value + "'");
      }
    }
  }
  const auto requested = csr.requested_extensions();
  for (const auto& extension : wanted.extensions) {
    if (std::none_of(requested.begin(), requested.end(),
                     [&](const auto& e) { return e.oid == extension; })) {
      throw Refusal(400, "the CSR does not request the extension " + display_name(extension) +
                             " that csrattrs requires");
    }
  }
}

}  // namespace estfleet::est
