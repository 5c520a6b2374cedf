// Owning handles for OpenSSL objects: every object lives in a unique_ptr whose deleter is the
// object's own free function, so no business code calls *_free by hand.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace estfleet::crypto {

template <auto FreeFn>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    FreeFn(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OsslDeleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<GENERAL_NAMES_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OsslDeleter<PKCS7_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, OsslDeleter<AUTHORITY_KEYID_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslDeleter<X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OsslDeleter<X509_REVOKED_free>>;
using Asn1EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, OsslDeleter<ASN1_ENUMERATED_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, OsslDeleter<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, OsslDeleter<OCSP_RESPONSE_free>>;
using OcspBasicResponsePtr = std::unique_ptr<OCSP_BASICRESP, OsslDeleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, OsslDeleter<OCSP_CERTID_free>>;

// Text that OpenSSL allocated for the caller (BN_bn2hex, ASN1_STRING_to_UTF8).
struct OpensslFreeDeleter {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
using OpensslCharsPtr = std::unique_ptr<char, OpensslFreeDeleter>;
using OpensslBytesPtr = std::unique_ptr<unsigned char, OpensslFreeDeleter>;

// A stack that borrows its certificates: freeing it leaves them alone.
struct BorrowedX509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_free(stack); }
};
using BorrowedX509StackPtr = std::unique_ptr<STACK_OF(X509), BorrowedX509StackDeleter>;

}  // namespace estfleet::crypto
