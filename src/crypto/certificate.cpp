#include "crypto/certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <map>
#include <mutex>

#include "crypto/der.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {
namespace {

std::string name_to_der(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  std::size_t length = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &length) != 1) {
    throw_openssl_error("cannot encode a certificate name");
  }
  return std::string(reinterpret_cast<const char*>(der), length);
}

TimePoint to_time_point(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) {
    throw_openssl_error("certificate has an invalid validity time");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string extension_der(const X509_EXTENSION* extension) {
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(extension));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

void add_extension(X509* cert, X509ExtensionPtr extension, std::string_view what) {
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    throw_openssl_error("cannot add the " + std::string(what) + " extension");
  }
}

void add_conf_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  add_extension(cert, X509ExtensionPtr(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str())),
                OBJ_nid2sn(nid));
}

// Through `extensions` when there is one, else built now.
void add_recurring_extension(X509* cert, ExtensionCache* extensions, const std::string& key,
                             std::string_view what,
                             const std::function<X509ExtensionPtr()>& build) {
  if (extensions != nullptr) {
    extensions->add(cert, key, what, build);
    return;
  }
  X509ExtensionPtr built = build();
  if (!built) {
    throw_openssl_error("cannot build the " + std::string(what) + " extension");
  }
  add_extension(cert, std::move(built), what);
}

void add_recurring_conf_extension(X509* cert, ExtensionCache* extensions, X509V3_CTX* ctx, int nid,
                                  const std::string& value) {
  add_recurring_extension(
      cert, extensions, std::to_string(nid) + ':' + value, OBJ_nid2sn(nid),
      [&] { return X509ExtensionPtr(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str())); });
}

X509ExtensionPtr raw_extension(const std::string& oid, bool critical, const std::string& der) {
  Asn1ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1));
  if (!object) {
    throw_openssl_error("invalid extension OID " + oid);
  }
  std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>> value(
      ASN1_OCTET_STRING_new());
  if (!value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    throw_openssl_error("cannot hold the value of extension " + oid);
  }
  return X509ExtensionPtr(
      X509_EXTENSION_create_by_OBJ(nullptr, object.get(), critical ? 1 : 0, value.get()));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ',';
    }
    out += item;
  }
  return out;
}

// Fetched once: OpenSSL 3 looks an implicitly fetched EVP_sha1() up again, under the method
// store's lock, on every use.
const EVP_MD* sha1() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  if (md == nullptr) {
    throw_openssl_error("SHA-1 is not available");
  }
  return md;
}

// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING, read where it already
// is. (Going through an EVP_PKEY costs an encoder and a decoder in OpenSSL 3.0.)
std::string key_identifier(const X509_PUBKEY* pubkey) {
  const unsigned char* bits = nullptr;
  int bits_length = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &bits_length, nullptr, pubkey) != 1) {
    throw_openssl_error("cannot read the public key");
  }
  std::string digest(SHA_DIGEST_LENGTH, '\0');
  if (EVP_Digest(bits, static_cast<std::size_t>(bits_length),
                 reinterpret_cast<unsigned char*>(digest.data()), nullptr, sha1(), nullptr) != 1) {
    throw_openssl_error("cannot hash the public key");
  }
  return digest;
}

// The certificate's SubjectPublicKeyInfo: copied field by field from `info` when given (a CSR's,
// as it came), else encoded from the key. X509_set_pubkey encodes the EVP_PKEY through an
// OSSL_ENCODER and decodes it again, which costs many times the certificate's signature.
void set_public_key(X509* cert, const EVP_PKEY* key, const X509_PUBKEY* info) {
  if (info == nullptr) {
    if (X509_set_pubkey(cert, const_cast<EVP_PKEY*>(key)) != 1) {
      throw_openssl_error("cannot set the public key");
    }
    return;
  }
  const unsigned char* bits = nullptr;
  int bits_length = 0;
  X509_ALGOR* algorithm = nullptr;
  X509_PUBKEY* target = X509_get_X509_PUBKEY(cert);
  X509_ALGOR* target_algorithm = nullptr;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &bits_length, &algorithm, info) != 1 ||
      X509_PUBKEY_get0_param(nullptr, nullptr, nullptr, &target_algorithm, target) != 1) {
    throw_openssl_error("cannot read the public key");
  }
  auto* copy =
      static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<std::size_t>(bits_length)));
  if (copy == nullptr) {
    throw_openssl_error("cannot copy the public key");
  }
  // set0 takes `copy`; the algorithm (OID and parameters) is copied over right after.
  if (X509_PUBKEY_set0_param(target, nullptr, V_ASN1_UNDEF, nullptr, copy, bits_length) != 1) {
    OPENSSL_free(copy);
    throw_openssl_error("cannot set the public key");
  }
  if (X509_ALGOR_copy(target_algorithm, algorithm) != 1) {
    throw_openssl_error("cannot set the public key algorithm");
  }
}

std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>> octet_string(
    const std::string& content) {
  std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>> value(
      ASN1_OCTET_STRING_new());
  if (!value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(content.data()),
                            static_cast<int>(content.size())) != 1) {
    throw_openssl_error("cannot hold a key identifier");
  }
  return value;
}

X509ExtensionPtr subject_key_identifier(const std::string& key_id) {
  return X509ExtensionPtr(
      X509V3_EXT_i2d(NID_subject_key_identifier, 0, octet_string(key_id).get()));
}

// AuthorityKeyIdentifier holding only keyIdentifier, as RFC 5280 §4.2.1.1 recommends.
X509ExtensionPtr authority_key_identifier(const std::string& key_id) {
  AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
  if (!aki) {
    throw_openssl_error("cannot build an authorityKeyIdentifier");
  }
  aki->keyid = octet_string(key_id).release();
  return X509ExtensionPtr(X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki.get()));
}

}  // namespace

Certificate::Certificate(X509Ptr cert) : cert_(std::move(cert)) {
  if (!cert_) {
    throw CryptoError("a certificate is required");
  }
}

Certificate::Certificate(X509Ptr cert, PkeyPtr public_key)
    : cert_(std::move(cert)), key_(std::move(public_key)) {
  if (!cert_ || !key_) {
    throw CryptoError("a certificate and its public key are required");
  }
}

Certificate::Certificate(X509Ptr cert, PkeyPtr public_key, std::string der)
    : cert_(std::move(cert)),
      key_(std::move(public_key)),
      der_(std::make_shared<const std::string>(std::move(der))) {
  if (!cert_) {
    throw CryptoError("a certificate is required");
  }
}

// A moved-from Certificate holds nothing; copying it must not touch a null X509.
Certificate::Certificate(const Certificate& other)
    : cert_(other.cert_.get()), key_(other.key_.get()), der_(other.der_) {
  if (cert_) {
    X509_up_ref(cert_.get());
  }
  if (key_) {
    EVP_PKEY_up_ref(key_.get());
  }
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    if (other.cert_) {
      X509_up_ref(other.cert_.get());
    }
    if (other.key_) {
      EVP_PKEY_up_ref(other.key_.get());
    }
    cert_.reset(other.cert_.get());
    key_.reset(other.key_.get());
    der_ = other.der_;
  }
  return *this;
}

Certificate Certificate::with_decoded_key() const {
  return key_ ? from_der(to_der()) : *this;
}

Certificate Certificate::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    throw CryptoError("the data is not a DER X.509 certificate");
  }
  // Encoded once here rather than kept as it came: OpenSSL reads some BER, and the encoding that
  // to_der() gives (and fingerprints and PKCS#7 are made of) is the canonical one.
  std::string canonical = encode_der(cert.get(), i2d_X509, "the certificate");
  return Certificate(std::move(cert), nullptr, std::move(canonical));
}

Certificate Certificate::from_pem(std::string_view pem) {
  auto chain = chain_from_pem(pem);
  return chain.front();
}

std::vector<Certificate> Certificate::chain_from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Certificate> chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    chain.emplace_back(X509Ptr(cert));
  }
  // The loop ends on "no start line" after the last certificate; anything else is a damaged
  // certificate, which must not silently shorten the bundle.
  const unsigned long error = ERR_peek_last_error();
  if (error != 0 &&
      !(ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE)) {
    throw_openssl_error("a PEM certificate in the bundle is damaged");
  }
  clear_openssl_errors();
  if (chain.empty()) {
    throw CryptoError("no PEM certificate found");
  }
  return chain;
}

std::string Certificate::to_der() const {
  if (der_) {
    return *der_;
  }
  return encode_der(cert_.get(), i2d_X509, "the certificate");
}

std::string Certificate::to_pem() const {
  return pem_encode(to_der(), "CERTIFICATE");
}

std::string pem_bundle(const std::vector<Certificate>& certs) {
  std::string pem;
  for (const auto& cert : certs) {
    pem += cert.to_pem();
  }
  return pem;
}

std::string Certificate::serial_hex() const {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!bn) {
    throw_openssl_error("cannot read the serial number");
  }
  const OpensslCharsPtr hex(BN_bn2hex(bn.get()));
  if (!hex) {
    throw_openssl_error("cannot print the serial number");
  }
  return std::string(hex.get());
}

std::string Certificate::subject_common_name() const {
  const X509_NAME* name = X509_get_subject_name(cert_.get());
  const int index = X509_NAME_get_index_by_NID(const_cast<X509_NAME*>(name), NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* value =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(const_cast<X509_NAME*>(name), index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  const OpensslBytesPtr owned(utf8);
  if (length < 0) {
    clear_openssl_errors();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(owned.get()), static_cast<std::size_t>(length));
}

std::string Certificate::subject_der() const {
  return name_to_der(X509_get_subject_name(cert_.get()));
}
std::string Certificate::issuer_der() const {
  return name_to_der(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::subject_text() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::optional<std::string> Certificate::subject_alt_name_der() const {
  const int index = X509_get_ext_by_NID(cert_.get(), NID_subject_alt_name, -1);
  if (index < 0) {
    return std::nullopt;
  }
  return extension_der(X509_get_ext(cert_.get(), index));
}

TimePoint Certificate::not_before() const {
  return to_time_point(X509_get0_notBefore(cert_.get()));
}
TimePoint Certificate::not_after() const {
  return to_time_point(X509_get0_notAfter(cert_.get()));
}

std::string Certificate::sha256_fingerprint() const {
  return hex_encode(sha256(to_der()));
}

// Only basicConstraints CA:TRUE (with keyCertSign if keyUsage is present) counts; X509_check_ca's
// other non-zero answers accept v1 roots and keyUsage-only certificates.
namespace {

// The first element inside the DER SEQUENCE `der` (its tag, length and content), or throws. DER
// only: definite lengths in their shortest form, as Certificate keeps its encoding.
std::string_view first_element_of_sequence(std::string_view der) {
  const auto header = [](std::string_view at) -> std::pair<std::size_t, std::size_t> {
    if (at.size() < 2) {
      throw CryptoError("a certificate's DER is cut short");
    }
    const auto first = static_cast<unsigned char>(at[1]);
    if (first < 0x80) {
      return {2, first};
    }
    const std::size_t count = first & 0x7F;
    if (count == 0 || count > sizeof(std::size_t) || at.size() < 2 + count) {
      throw CryptoError("a certificate's DER has an unreadable length");
    }
    std::size_t length = 0;
    for (std::size_t i = 0; i < count; ++i) {
      length = (length << 8) | static_cast<unsigned char>(at[2 + i]);
    }
    return {2 + count, length};
  };
  const auto [outer_header, outer_length] = header(der);
  const std::string_view content = der.substr(outer_header);
  const auto [inner_header, inner_length] = header(content);
  if (inner_header + inner_length > content.size() || outer_length > content.size()) {
    throw CryptoError("a certificate's DER is cut short");
  }
  return content.substr(0, inner_header + inner_length);
}

}  // namespace

std::string Certificate::tbs_sha256() const {
  return hex_encode(sha256(first_element_of_sequence(to_der())));
}

bool Certificate::has_client_auth_usage() const {
  // Without the extension OpenSSL reports every usage; a device certificate of this CA carries it.
  return (X509_get_extension_flags(cert_.get()) & EXFLAG_XKUSAGE) != 0 &&
         (X509_get_extended_key_usage(cert_.get()) & XKU_SSL_CLIENT) != 0;
}

bool Certificate::has_extended_key_usage(std::string_view dotted_oid) const {
  using Usages = std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)>;
  const Usages usages(static_cast<EXTENDED_KEY_USAGE*>(
                          X509_get_ext_d2i(cert_.get(), NID_ext_key_usage, nullptr, nullptr)),
                      &EXTENDED_KEY_USAGE_free);
  clear_openssl_errors();
  if (!usages) {
    return false;
  }
  for (int i = 0; i < sk_ASN1_OBJECT_num(usages.get()); ++i) {
    std::array<char, 80> text{};
    const int length = OBJ_obj2txt(text.data(), static_cast<int>(text.size()),
                                   sk_ASN1_OBJECT_value(usages.get(), i), 1);
    if (length > 0 && static_cast<std::size_t>(length) < text.size() &&
        std::string_view(text.data(), static_cast<std::size_t>(length)) == dotted_oid) {
      return true;
    }
  }
  return false;
}

bool Certificate::is_signed_by(const Certificate& issuer) const {
  // X509_verify reads the key from its argument only, so this certificate's own decoded key (or
  // its lack) does not matter.
  const bool verified = X509_verify(cert_.get(), const_cast<EVP_PKEY*>(issuer.public_key())) == 1;
  clear_openssl_errors();
  return verified;
}

bool Certificate::is_ca() const {
  return X509_check_ca(cert_.get()) == 1;
}

EVP_PKEY* Certificate::public_key() const {
  return key_ ? key_.get() : X509_get0_pubkey(cert_.get());
}

bool Certificate::matches_private_key(const EVP_PKEY* key) const {
  const bool match =
      key_ ? EVP_PKEY_eq(key_.get(), key) == 1 : X509_check_private_key(cert_.get(), key) == 1;
  clear_openssl_errors();
  return match;
}

TrustStore::TrustStore(const std::vector<Certificate>& trusted_roots) : store_(X509_STORE_new()) {
  if (!store_) {
    throw_openssl_error("cannot create a trust store");
  }
  for (const auto& root : trusted_roots) {
    if (X509_STORE_add_cert(store_.get(), root.with_decoded_key().get()) != 1) {
      throw_openssl_error("cannot add a trust anchor");
    }
  }
}

std::optional<std::string> TrustStore::verify(const Certificate& leaf,
                                              const std::vector<Certificate>& intermediates,
                                              std::optional<TimePoint> at) const {
  // Chain building reads keys from the X509s themselves.
  const Certificate decoded_leaf = leaf.with_decoded_key();
  std::vector<Certificate> decoded;
  decoded.reserve(intermediates.size());
  for (const auto& cert : intermediates) {
    decoded.push_back(cert.with_decoded_key());
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  BorrowedX509StackPtr untrusted(sk_X509_new_null());
  for (const auto& cert : decoded) {
    sk_X509_push(untrusted.get(), cert.get());
  }
  if (!ctx ||
      X509_STORE_CTX_init(ctx.get(), store_.get(), decoded_leaf.get(), untrusted.get()) != 1) {
    throw_openssl_error("cannot set up certificate verification");
  }
  if (at) {
    X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(*at));
  }
  // No real PKI here is deeper; a peer's long chain is refused before its signatures are checked.
  X509_STORE_CTX_set_depth(ctx.get(), kMaxChainDepth);
  if (X509_verify_cert(ctx.get()) == 1) {
    return std::nullopt;
  }
  clear_openssl_errors();
  return std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

std::string name_der(const std::vector<std::pair<std::string, std::string>>& rdns) {
  X509NamePtr name(X509_NAME_new());
  for (const auto& [field, value] : rdns) {
    // V_ASN1_UTF8STRING, not MBSTRING_UTF8: OpenSSL would otherwise cap a CN at X.520's 64
    // characters, and ThingNames may have 128.
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), V_ASN1_UTF8STRING,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      std::string what = "cannot build a name with ";
      what.append(field).append("=").append(value);
      throw_openssl_error(what);
    }
  }
  return name_to_der(name.get());
}

struct ExtensionCache::Kept {
  static constexpr std::size_t kMaxEntries = 256;
  mutable std::mutex mutex;
  std::map<std::string, X509ExtensionPtr, std::less<>> extensions;
};

ExtensionCache::ExtensionCache() : kept_(std::make_unique<Kept>()) {}

ExtensionCache::~ExtensionCache() = default;

void ExtensionCache::add(X509* cert, const std::string& key, std::string_view what,
                         const std::function<X509ExtensionPtr()>& build) {
  const X509_EXTENSION* kept = nullptr;
  {
    const std::lock_guard lock(kept_->mutex);
    if (const auto it = kept_->extensions.find(key); it != kept_->extensions.end()) {
      kept = it->second.get();
    }
  }
  if (kept == nullptr) {
    X509ExtensionPtr built = build();
    if (!built) {
      throw_openssl_error("cannot build the " + std::string(what) + " extension");
    }
    const std::lock_guard lock(kept_->mutex);
    if (kept_->extensions.size() >= Kept::kMaxEntries) {
      add_extension(cert, std::move(built), what);
      return;
    }
    kept = kept_->extensions.try_emplace(key, std::move(built)).first->second.get();
  }
  // Kept extensions are never changed or freed while the cache lives; X509_add_ext copies this
  // one into `cert`.
  if (X509_add_ext(cert, const_cast<X509_EXTENSION*>(kept), -1) != 1) {
    throw_openssl_error("cannot add the " + std::string(what) + " extension");
  }
}

std::size_t ExtensionCache::size() const {
  const std::lock_guard lock(kept_->mutex);
  return kept_->extensions.size();
}

Certificate sign_certificate(const CertificateSpec& spec, const Certificate* issuer,
                             const EVP_PKEY* issuer_key, ExtensionCache* extensions) {
  if (spec.serial.empty() || spec.public_key == nullptr) {
    throw CryptoError("a certificate needs a serial and a public key");
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);

  BignumPtr serial_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(spec.serial.data()),
                                static_cast<int>(spec.serial.size()), nullptr));
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(serial_bn.get(), nullptr));
  const auto* name_ptr = reinterpret_cast<const unsigned char*>(spec.subject_der.data());
  X509NamePtr subject(
      d2i_X509_NAME(nullptr, &name_ptr, static_cast<long>(spec.subject_der.size())));
  if (!serial || !subject) {
    throw_openssl_error("invalid serial or subject name");
  }
  X509_set_serialNumber(cert.get(), serial.get());
  X509_set_subject_name(cert.get(), subject.get());
  X509_set_issuer_name(cert.get(),
                       issuer != nullptr ? X509_get_subject_name(issuer->get()) : subject.get());
  Asn1TimePtr not_before(
      ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.not_before)));
  Asn1TimePtr not_after(
      ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.not_after)));
  if (!not_before || !not_after || X509_set1_notBefore(cert.get(), not_before.get()) != 1 ||
      X509_set1_notAfter(cert.get(), not_after.get()) != 1) {
    throw_openssl_error("cannot set the validity");
  }
  set_public_key(cert.get(), spec.public_key, spec.public_key_info);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->get() : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  std::string basic = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.is_ca && spec.path_length) {
    basic += ",pathlen:" + std::to_string(*spec.path_length);
  }
  add_recurring_conf_extension(cert.get(), extensions, &ctx, NID_basic_constraints, basic);
  if (!spec.key_usage.empty()) {
    add_recurring_conf_extension(cert.get(), extensions, &ctx, NID_key_usage,
                                 "critical," + join(spec.key_usage));
  }
  if (!spec.extended_key_usage.empty()) {
    add_recurring_conf_extension(cert.get(), extensions, &ctx, NID_ext_key_usage,
                                 join(spec.extended_key_usage));
  }
  const std::string subject_key_id = key_identifier(X509_get_X509_PUBKEY(cert.get()));
  add_extension(cert.get(), subject_key_identifier(subject_key_id), "subjectKeyIdentifier");
  // The AKI must equal the issuer's own SKI, whatever method made it (an imported CA may differ).
  std::string authority_key_id = subject_key_id;
  if (issuer != nullptr) {
    const ASN1_OCTET_STRING* issuer_ski = X509_get0_subject_key_id(issuer->get());
    authority_key_id =
        issuer_ski != nullptr
            ? std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(issuer_ski)),
                          static_cast<std::size_t>(ASN1_STRING_length(issuer_ski)))
            : key_identifier(X509_get_X509_PUBKEY(issuer->get()));
  }
  if (issuer != nullptr) {
    add_recurring_extension(cert.get(), extensions, "aki:" + hex_encode(authority_key_id),
                            "authorityKeyIdentifier",
                            [&] { return authority_key_identifier(authority_key_id); });
  } else {  // self-signed: the AKI is this certificate's own key identifier
    add_extension(cert.get(), authority_key_identifier(authority_key_id), "authorityKeyIdentifier");
  }
  if (spec.subject_alt_name_der) {
    add_extension(cert.get(), raw_extension("2.5.29.17", false, *spec.subject_alt_name_der),
                  "subjectAltName");
  } else if (!spec.subject_alt_names.empty()) {
    add_conf_extension(cert.get(), &ctx, NID_subject_alt_name, join(spec.subject_alt_names));
  }
  if (!spec.crl_distribution_points.empty()) {
    std::vector<std::string> uris;
    for (const auto& uri : spec.crl_distribution_points) {
      uris.push_back("URI:" + uri);
    }
    add_recurring_conf_extension(cert.get(), extensions, &ctx, NID_crl_distribution_points,
                                 join(uris));
  }
  if (!spec.ocsp_urls.empty()) {
    std::vector<std::string> access;
    for (const auto& url : spec.ocsp_urls) {
      access.push_back("OCSP;URI:" + url);
    }
    add_recurring_conf_extension(cert.get(), extensions, &ctx, NID_info_access, join(access));
  }
  for (const auto& extension : spec.extra_extensions) {
    add_extension(cert.get(), raw_extension(extension.oid, extension.critical, extension.value_der),
                  extension.oid);
  }

  if (X509_sign(cert.get(), const_cast<EVP_PKEY*>(issuer_key), signature_digest_for(issuer_key)) <=
      0) {
    throw_openssl_error("signing the certificate failed");
  }
  std::string der = encode_der(cert.get(), i2d_X509, "the certificate");
  if (spec.public_key_info != nullptr) {
    // A copied SubjectPublicKeyInfo leaves the X509 without its EVP_PKEY (OpenSSL offers no way
    // to attach one): the certificate carries the caller's key beside it, the same key already
    // decoded, instead of parsing the signed certificate again (a key decoder, the costliest
    // step of issuance in OpenSSL 3.0).
    auto* key = const_cast<EVP_PKEY*>(spec.public_key);
    if (EVP_PKEY_up_ref(key) != 1) {
      throw_openssl_error("cannot hold the certificate's public key");
    }
    return Certificate(std::move(cert), PkeyPtr(key), std::move(der));
  }
  return Certificate(std::move(cert), nullptr, std::move(der));
}

}  // namespace estfleet::crypto
