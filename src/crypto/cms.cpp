#include "crypto/cms.hpp"

#include <openssl/cms.h>

#include "crypto/der.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, OsslDeleter<CMS_ContentInfo_free>>;

BioPtr memory_bio(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    throw_openssl_error("cannot allocate a memory BIO");
  }
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

Asn1ObjectPtr object_of(const std::string& oid) {
  Asn1ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1));
  if (!object) {
    throw_openssl_error("'" + oid + "' is not a dotted OID");
  }
  return object;
}

std::string dotted(const ASN1_OBJECT* object) {
  char text[128];
  const int length = OBJ_obj2txt(text, sizeof text, object, 1);
  return length > 0 ? std::string(text, static_cast<std::size_t>(length)) : std::string();
}

CmsPtr parse(std::string_view der, int expected_nid, const char* what) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size() ||
      OBJ_obj2nid(CMS_get0_type(cms.get())) != expected_nid) {
    clear_openssl_errors();
    throw CryptoError(std::string("the message is not a DER CMS ") + what);
  }
  return cms;
}

std::string encode(CMS_ContentInfo* cms, const char* what) {
  return encode_der(cms, i2d_CMS_ContentInfo, what);
}

}  // namespace

std::string cms_sign(std::string_view content, const std::string& content_type_oid,
                     const Certificate& signer, const EVP_PKEY* signer_key) {
  constexpr unsigned kFlags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, kFlags));
  if (!cms) {
    throw_openssl_error("cannot start a CMS SignedData");
  }
  const auto type = object_of(content_type_oid);
  if (CMS_set1_eContentType(cms.get(), type.get()) != 1 ||
      CMS_add1_signer(cms.get(), signer.get(), const_cast<EVP_PKEY*>(signer_key),
                      signature_digest_for(signer_key), kFlags) == nullptr) {
    throw_openssl_error("cannot add the signer to a CMS SignedData");
  }
  auto data = memory_bio(content);
  if (CMS_final(cms.get(), data.get(), nullptr, CMS_BINARY) != 1) {
    throw_openssl_error("cannot sign the CMS SignedData");
  }
  return encode(cms.get(), "a CMS SignedData");
}

SignedContent cms_verify(std::string_view der) {
  auto cms = parse(der, NID_pkcs7_signed, "SignedData");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (CMS_verify(cms.get(), nullptr, nullptr, nullptr, out.get(),
                 CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
    throw_openssl_error("the CMS SignedData's signature does not verify");
  }
  BorrowedX509StackPtr signers(CMS_get0_signers(cms.get()));
  if (!signers || sk_X509_num(signers.get()) != 1) {
    throw CryptoError("the CMS SignedData must have exactly one signer");
  }
  X509* signer = sk_X509_value(signers.get(), 0);
  X509_up_ref(signer);
  return {bio_contents(out.get()), dotted(CMS_get0_eContentType(cms.get())),
          Certificate(X509Ptr(signer))};
}

std::string cms_envelope(std::string_view content, const std::string& content_type_oid,
                         const Certificate& recipient) {
  if (EVP_PKEY_get_base_id(recipient.public_key()) != EVP_PKEY_RSA &&
      EVP_PKEY_get_base_id(recipient.public_key()) != EVP_PKEY_EC) {
    throw CryptoError("only an RSA or EC key can receive a CMS EnvelopedData");
  }
  if (X509_get0_subject_key_id(recipient.get()) == nullptr) {
    throw CryptoError("the recipient certificate has no subjectKeyIdentifier");
  }
  BorrowedX509StackPtr recipients(sk_X509_new_null());
  if (!recipients || sk_X509_push(recipients.get(), recipient.get()) <= 0) {
    throw_openssl_error("cannot list the CMS recipient");
  }
  constexpr unsigned kFlags = CMS_BINARY | CMS_PARTIAL | CMS_USE_KEYID;
  CmsPtr cms(CMS_encrypt(recipients.get(), nullptr, EVP_aes_256_cbc(), kFlags));
  if (!cms) {
    throw_openssl_error("cannot address a CMS EnvelopedData to the recipient");
  }
  const auto type = object_of(content_type_oid);
  if (CMS_set1_eContentType(cms.get(), type.get()) != 1) {
    throw_openssl_error("cannot set the CMS EnvelopedData's content type");
  }
  auto data = memory_bio(content);
  if (CMS_final(cms.get(), data.get(), nullptr, CMS_BINARY) != 1) {
    throw_openssl_error("cannot encrypt the CMS EnvelopedData");
  }
  return encode(cms.get(), "a CMS EnvelopedData");
}

EnvelopedContent cms_decrypt(std::string_view der, const PrivateKey& key,
                             const Certificate* recipient) {
  auto cms = parse(der, NID_pkcs7_enveloped, "EnvelopedData");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (CMS_decrypt(cms.get(), key.get(), recipient != nullptr ? recipient->get() : nullptr, nullptr,
                  out.get(), CMS_BINARY) != 1) {
    throw_openssl_error("the key does not open the CMS EnvelopedData");
  }
  return {bio_contents(out.get()), dotted(CMS_get0_eContentType(cms.get()))};
}

}  // namespace estfleet::crypto
