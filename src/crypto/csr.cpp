#include "crypto/csr.hpp"

#include <openssl/pem.h>

#include "crypto/der.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

using ExtensionStack =
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype([](STACK_OF(X509_EXTENSION) * s) {
                      sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
                    })>;

std::string oid_text(const ASN1_OBJECT* object) {
  char buffer[128];
  const int length = OBJ_obj2txt(buffer, sizeof buffer, object, 1);
  if (length <= 0 || static_cast<std::size_t>(length) >= sizeof buffer) {
    return "(unreadable OID)";
  }
  return std::string(buffer, static_cast<std::size_t>(length));
}

std::string octets(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

X509ExtensionPtr make_extension(const std::string& oid, bool critical, const std::string& der) {
  Asn1ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1));
  std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>> value(
      ASN1_OCTET_STRING_new());
  if (!object || !value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    throw_openssl_error("invalid CSR extension " + oid);
  }
  X509ExtensionPtr extension(
      X509_EXTENSION_create_by_OBJ(nullptr, object.get(), critical ? 1 : 0, value.get()));
  if (!extension) {
    throw_openssl_error("cannot build CSR extension " + oid);
  }
  return extension;
}

}  // namespace

CertificateRequest::CertificateRequest(X509ReqPtr req) : req_(std::move(req)) {
  if (!req_) {
    throw CryptoError("a certification request is required");
  }
}

CertificateRequest CertificateRequest::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    throw CryptoError("CSR is not a valid DER PKCS#10 request");
  }
  return CertificateRequest(std::move(req));
}

CertificateRequest CertificateRequest::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    clear_openssl_errors();
    throw CryptoError("CSR is not a valid PEM PKCS#10 request");
  }
  return CertificateRequest(std::move(req));
}

bool CertificateRequest::verify_signature() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  const bool ok = key != nullptr && X509_REQ_verify(req_.get(), key) == 1;
  clear_openssl_errors();
  return ok;
}

std::string CertificateRequest::to_der() const {
  return encode_der(req_.get(), i2d_X509_REQ, "the CSR");
}

std::string CertificateRequest::to_pem() const {
  return pem_encode(to_der(), "CERTIFICATE REQUEST");
}

std::string CertificateRequest::subject_der() const {
  const unsigned char* der = nullptr;
  std::size_t length = 0;
  if (X509_NAME_get0_der(X509_REQ_get_subject_name(req_.get()), &der, &length) != 1) {
    throw_openssl_error("cannot encode the CSR subject");
  }
  return std::string(reinterpret_cast<const char*>(der), length);
}

std::vector<std::string> CertificateRequest::subject_common_names() const {
  std::vector<std::string> names;
  X509_NAME* subject = X509_REQ_get_subject_name(req_.get());
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    const OpensslBytesPtr owned(utf8);
    if (length < 0) {
      clear_openssl_errors();
      names.emplace_back();  // unreadable: still counted, and no valid ThingName
      continue;
    }
    names.emplace_back(reinterpret_cast<const char*>(owned.get()),
                       static_cast<std::size_t>(length));
  }
  return names;
}

std::string CertificateRequest::subject_text() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_REQ_get_subject_name(req_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::optional<std::string> CertificateRequest::challenge_password() const {
  const int index = X509_REQ_get_attr_by_NID(req_.get(), NID_pkcs9_challengePassword, -1);
  if (index < 0) {
    return std::nullopt;
  }
  X509_ATTRIBUTE* attribute = X509_REQ_get_attr(req_.get(), index);
  if (X509_ATTRIBUTE_count(attribute) != 1) {
    return std::string();  // malformed: present but unusable, so it can never match
  }
  const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
  switch (value->type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
      return octets(value->value.asn1_string);
    default:
      return std::string();
  }
}

std::vector<CertificateRequest::Extension> CertificateRequest::requested_extensions() const {
  std::vector<Extension> result;
  ExtensionStack extensions(X509_REQ_get_extensions(req_.get()));
  if (!extensions) {
    // OpenSSL answers an empty stack when there is no extensionRequest, so null means a
    // damaged one: refuse it rather than act as if the device requested nothing.
    throw_openssl_error("the CSR's extensionRequest attribute is not a valid list of extensions");
  }
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions.get()); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions.get(), i);
    result.push_back(Extension{oid_text(X509_EXTENSION_get_object(extension)),
                               X509_EXTENSION_get_critical(extension) == 1,
                               octets(X509_EXTENSION_get_data(extension))});
  }
  return result;
}

std::optional<std::string> CertificateRequest::subject_alt_name_der() const {
  for (const auto& extension : requested_extensions()) {
    if (extension.oid == "2.5.29.17") {
      return extension.value_der;
    }
  }
  return std::nullopt;
}

EVP_PKEY* CertificateRequest::public_key() const {
  return X509_REQ_get0_pubkey(req_.get());
}

const X509_PUBKEY* CertificateRequest::public_key_info() const {
  return X509_REQ_get_X509_PUBKEY(req_.get());
}

CertificateRequest build_csr(const CsrSpec& spec, const PrivateKey& key) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  if (spec.subject_der) {
    const auto* p = reinterpret_cast<const unsigned char*>(spec.subject_der->data());
    X509NamePtr subject(d2i_X509_NAME(nullptr, &p, static_cast<long>(spec.subject_der->size())));
    if (!subject || X509_REQ_set_subject_name(req.get(), subject.get()) != 1) {
      throw_openssl_error("invalid CSR subject");
    }
  } else if (X509_NAME_add_entry_by_txt(
                 X509_REQ_get_subject_name(req.get()), "CN", V_ASN1_UTF8STRING,
                 reinterpret_cast<const unsigned char*>(spec.common_name.data()),
                 static_cast<int>(spec.common_name.size()), -1, 0) != 1) {
    throw_openssl_error("invalid CSR common name");
  }
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    throw_openssl_error("cannot set the CSR public key");
  }

  ExtensionStack extensions(sk_X509_EXTENSION_new_null());
  if (spec.subject_alt_name_der) {
    sk_X509_EXTENSION_push(
        extensions.get(), make_extension("2.5.29.17", false, *spec.subject_alt_name_der).release());
  } else if (!spec.subject_alt_names.empty()) {
    std::string value;
    for (const auto& name : spec.subject_alt_names) {
      value += (value.empty() ? "" : ",") + name;
    }
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str());
    if (san == nullptr) {
      throw_openssl_error("invalid subjectAltName " + value);
    }
    sk_X509_EXTENSION_push(extensions.get(), san);
  }
  for (const auto& extension : spec.extensions) {
    sk_X509_EXTENSION_push(
        extensions.get(),
        make_extension(extension.oid, extension.critical, extension.value_der).release());
  }
  if (sk_X509_EXTENSION_num(extensions.get()) > 0 &&
      X509_REQ_add_extensions(req.get(), extensions.get()) != 1) {
    throw_openssl_error("cannot add the CSR extensions");
  }
  if (spec.challenge_password &&
      X509_REQ_add1_attr_by_NID(
          req.get(), NID_pkcs9_challengePassword, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(spec.challenge_password->data()),
          static_cast<int>(spec.challenge_password->size())) != 1) {
    throw_openssl_error("cannot add the challengePassword");
  }
  if (X509_REQ_sign(req.get(), key.get(), signature_digest_for(key.get())) <= 0) {
    throw_openssl_error("signing the CSR failed");
  }
  return CertificateRequest(std::move(req));
}

std::string der_utf8_string(std::string_view text) {
  std::unique_ptr<ASN1_UTF8STRING, OsslDeleter<ASN1_UTF8STRING_free>> s(ASN1_UTF8STRING_new());
  if (!s || ASN1_STRING_set(s.get(), text.data(), static_cast<int>(text.size())) != 1) {
    throw_openssl_error("cannot build a UTF8String");
  }
  return encode_der(s.get(), i2d_ASN1_UTF8STRING, "a UTF8String");
}

std::optional<std::string> parse_der_utf8_string(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ASN1_UTF8STRING, OsslDeleter<ASN1_UTF8STRING_free>> s(
      d2i_ASN1_UTF8STRING(nullptr, &p, static_cast<long>(der.size())));
  if (!s || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    return std::nullopt;
  }
  return octets(s.get());
}

}  // namespace estfleet::crypto
