#include "crypto/csr.hpp"

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <array>

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

// The structure of PKCS#10 (RFC 2986 §4) as d2i_X509_REQ reads it (OpenSSL's X509_REQ_INFO and
// X509_REQ templates), except that the SubjectPublicKeyInfo is read as plain fields: OpenSSL's
// X509_PUBKEY decodes the key while parsing, through an OSSL_DECODER.
// NOLINTBEGIN: OpenSSL's ASN.1 template macros and the C structures they describe.
struct RAW_SPKI {
  X509_ALGOR* algorithm;
  ASN1_BIT_STRING* public_key;
};

struct RAW_REQ_INFO {
  ASN1_ENCODING enc;  // the DER as it came: the signature is checked over it
  ASN1_INTEGER* version;
  X509_NAME* subject;
  RAW_SPKI* spki;
  STACK_OF(X509_ATTRIBUTE) * attributes;  // null when the (mandatory) [0] is missing
};

struct RAW_REQ {
  RAW_REQ_INFO* info;
  X509_ALGOR* signature_algorithm;
  ASN1_BIT_STRING* signature;
};

ASN1_SEQUENCE(RAW_SPKI) =
    {
        ASN1_SIMPLE(RAW_SPKI, algorithm, X509_ALGOR),
        ASN1_SIMPLE(RAW_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(RAW_SPKI)

        ASN1_SEQUENCE_enc(RAW_REQ_INFO, enc, 0) =
            {
                ASN1_SIMPLE(RAW_REQ_INFO, version, ASN1_INTEGER),
                ASN1_SIMPLE(RAW_REQ_INFO, subject, X509_NAME),
                ASN1_SIMPLE(RAW_REQ_INFO, spki, RAW_SPKI),
                // Optional as in OpenSSL's own template ("gets round invalid encodings").
                ASN1_IMP_SET_OF_OPT(RAW_REQ_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(RAW_REQ_INFO, RAW_REQ_INFO)

                ASN1_SEQUENCE(RAW_REQ) =
                    {
                        ASN1_SIMPLE(RAW_REQ, info, RAW_REQ_INFO),
                        ASN1_SIMPLE(RAW_REQ, signature_algorithm, X509_ALGOR),
                        ASN1_SIMPLE(RAW_REQ, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(RAW_REQ)
    // NOLINTEND

    struct RawReqDeleter {
  void operator()(RAW_REQ* req) const noexcept {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(req), ASN1_ITEM_rptr(RAW_REQ));
  }
};
using RawReqPtr = std::unique_ptr<RAW_REQ, RawReqDeleter>;
using X509PubkeyPtr = std::unique_ptr<X509_PUBKEY, OsslDeleter<X509_PUBKEY_free>>;

// The key types built from their bits without a decoder.
enum class DirectKey { ec, ed25519 };

// One key-import context per thread and key type, made once: EVP_PKEY_CTX_new_from_name fetches
// the key manager from the provider's method store (under its lock) on every call, and a context
// must not be used by two threads at once.
EVP_PKEY_CTX* import_context(DirectKey type) {
  thread_local std::array<PkeyCtxPtr, 2> contexts;
  PkeyCtxPtr& context = contexts.at(type == DirectKey::ec ? 0 : 1);
  if (!context) {
    PkeyCtxPtr made(
        EVP_PKEY_CTX_new_from_name(nullptr, type == DirectKey::ec ? "EC" : "ED25519", nullptr));
    if (!made || EVP_PKEY_fromdata_init(made.get()) != 1) {
      clear_openssl_errors();
      return nullptr;
    }
    context = std::move(made);
  }
  return context.get();
}

template <std::size_t N>
PkeyPtr import_public_key(DirectKey type, int selection, std::array<OSSL_PARAM, N>& params) {
  EVP_PKEY_CTX* context = import_context(type);
  EVP_PKEY* key = nullptr;
  if (context == nullptr || EVP_PKEY_fromdata(context, &key, selection, params.data()) != 1) {
    clear_openssl_errors();
    return nullptr;
  }
  return PkeyPtr(key);
}

// The curves read directly, in the order of `curve_parameters`' slots.
enum class DirectCurve : std::size_t { p256, p384 };

// A key holding only the curve, one per thread and curve, made once. EVP_PKEY_fromdata builds
// the curve's group from its name for every key it imports, Montgomery constants included, which
// cost more than the rest of the CSR parse; a key copied from this one copies the finished group.
EVP_PKEY* curve_parameters(DirectCurve curve) {
  thread_local std::array<PkeyPtr, 2> curves;
  PkeyPtr& parameters = curves.at(static_cast<std::size_t>(curve));
  if (!parameters) {
    std::array params{
        OSSL_PARAM_construct_utf8_string(
            OSSL_PKEY_PARAM_GROUP_NAME,
            const_cast<char*>(curve == DirectCurve::p256 ? "prime256v1" : "secp384r1"), 0),
        OSSL_PARAM_construct_end()};
    parameters = import_public_key(DirectKey::ec, EVP_PKEY_KEY_PARAMETERS, params);
  }
  return parameters.get();
}

// The EC key whose point is `point` (an RFC 5480 encoding, of the curve's length), or null when
// it is not a point of the curve: setting the encoded point decodes it and checks it is on the
// curve.
PkeyPtr import_ec_point(DirectCurve curve, const unsigned char* point, std::size_t length) {
  EVP_PKEY* parameters = curve_parameters(curve);
  PkeyPtr key(parameters == nullptr ? nullptr : EVP_PKEY_dup(parameters));
  if (!key || EVP_PKEY_set1_encoded_public_key(key.get(), point, length) != 1) {
    clear_openssl_errors();
    return nullptr;
  }
  return key;
}

// What became of a SubjectPublicKeyInfo of a key type read directly: its key, or null when the
// bits are not a key of that type; `handled` false for the other key types (left to OpenSSL's
// decoder).
struct DirectResult {
  bool handled = false;
  PkeyPtr key;
};

DirectResult refused() {
  return {true, nullptr};
}

// EC P-256/P-384 (id-ecPublicKey with a namedCurve, RFC 5480) and Ed25519 (RFC 8410). Only the
// encodings those RFCs allow are keys: for EC an uncompressed (04 || X || Y) or compressed
// (02/03 || X) point of exactly the curve's length, for Ed25519 32 bytes and no parameters. (The
// decoder accepted a few more for EC: the point at infinity and the hybrid forms 06/07, which
// RFC 5480 does not allow and no device sends; they are refused as unreadable keys.) A compressed
// point gives a key that encodes compressed, as the decoder's does.
DirectResult direct_public_key(const RAW_SPKI& spki) {
  const ASN1_OBJECT* algorithm = nullptr;
  int parameter_type = 0;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&algorithm, &parameter_type, &parameter, spki.algorithm);
  const unsigned char* bits = ASN1_STRING_get0_data(spki.public_key);
  const auto length = static_cast<std::size_t>(ASN1_STRING_length(spki.public_key));
  // A BIT STRING whose last octet has unused bits is not the octet string of a key.
  const bool whole_octets = (spki.public_key->flags & 0x07) == 0;
  switch (OBJ_obj2nid(algorithm)) {
    case NID_X9_62_id_ecPublicKey: {
      if (parameter_type != V_ASN1_OBJECT) {
        return {};  // explicit or implicit curve parameters: the decoder reads (and refuses) them
      }
      const int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(parameter));
      std::size_t field = 0;
      DirectCurve direct_curve{};
      if (curve == NID_X9_62_prime256v1) {
        field = 32;
        direct_curve = DirectCurve::p256;
      } else if (curve == NID_secp384r1) {
        field = 48;
        direct_curve = DirectCurve::p384;
      } else {
        return {};  // another curve: the key policy names it in its refusal
      }
      const bool uncompressed = length == 1 + 2 * field && bits[0] == 0x04;
      const bool compressed = length == 1 + field && (bits[0] == 0x02 || bits[0] == 0x03);
      if (!whole_octets || (!uncompressed && !compressed)) {
        return refused();
      }
      return {true, import_ec_point(direct_curve, bits, length)};
    }
    case NID_ED25519: {
      if (!whole_octets || parameter_type != V_ASN1_UNDEF || length != 32) {
        return refused();
      }
      std::array params{OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                          const_cast<unsigned char*>(bits), length),
                        OSSL_PARAM_construct_end()};
      return {true, import_public_key(DirectKey::ed25519, EVP_PKEY_PUBLIC_KEY, params)};
    }
    default:
      return {};
  }
}

// The key of `spki`: directly when it has a shape read directly, else through OpenSSL's decoder
// (d2i_PUBKEY), which is what d2i_X509_REQ did for every key. Null when it cannot be read.
PkeyPtr subject_public_key(const RAW_SPKI& spki) {
  if (DirectResult direct = direct_public_key(spki); direct.handled) {
    return std::move(direct.key);
  }
  unsigned char* der = nullptr;
  const int length =
      ASN1_item_i2d(reinterpret_cast<const ASN1_VALUE*>(&spki), &der, ASN1_ITEM_rptr(RAW_SPKI));
  const OpensslBytesPtr owned(der);
  if (length <= 0) {
    clear_openssl_errors();
    return nullptr;
  }
  const unsigned char* p = der;
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, length));
  if (!key) {
    clear_openssl_errors();
  }
  return key;
}

// An X509_PUBKEY holding `spki`'s algorithm and bits, and no decoded key (what sign_certificate
// copies into a certificate).
X509PubkeyPtr copy_public_key_info(const RAW_SPKI& spki) {
  X509PubkeyPtr info(X509_PUBKEY_new());
  if (!info) {
    throw_openssl_error("cannot hold the CSR's public key");
  }
  const int length = ASN1_STRING_length(spki.public_key);
  auto* bits = static_cast<unsigned char*>(
      OPENSSL_memdup(ASN1_STRING_get0_data(spki.public_key), static_cast<std::size_t>(length)));
  if (bits == nullptr && length > 0) {
    throw_openssl_error("cannot hold the CSR's public key");
  }
  // set0 takes `bits` (and clears the algorithm, which is copied in right after).
  if (X509_PUBKEY_set0_param(info.get(), nullptr, V_ASN1_UNDEF, nullptr, bits, length) != 1) {
    OPENSSL_free(bits);
    throw_openssl_error("cannot hold the CSR's public key");
  }
  X509_ALGOR* algorithm = nullptr;
  if (X509_PUBKEY_get0_param(nullptr, nullptr, nullptr, &algorithm, info.get()) != 1 ||
      X509_ALGOR_copy(algorithm, spki.algorithm) != 1) {
    throw_openssl_error("cannot hold the CSR's public key algorithm");
  }
  return info;
}

}  // namespace

struct CertificateRequest::Parsed {
  std::string der;  // as it came
  RawReqPtr raw;
  PkeyPtr key;  // null: the key cannot be read
  X509PubkeyPtr public_key_info;
};

CertificateRequest::CertificateRequest(X509ReqPtr req) : req_(std::move(req)) {
  if (!req_) {
    throw CryptoError("a certification request is required");
  }
}

CertificateRequest::CertificateRequest(std::unique_ptr<Parsed> parsed)
    : parsed_(std::move(parsed)) {}

CertificateRequest::CertificateRequest(CertificateRequest&&) noexcept = default;
CertificateRequest& CertificateRequest::operator=(CertificateRequest&&) noexcept = default;
CertificateRequest::~CertificateRequest() = default;

CertificateRequest CertificateRequest::from_der(std::string_view der) {
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const auto* p = begin;
  RawReqPtr raw(reinterpret_cast<RAW_REQ*>(
      ASN1_item_d2i(nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(RAW_REQ))));
  if (!raw || p != begin + der.size()) {
    clear_openssl_errors();
    throw CryptoError("CSR is not a valid DER PKCS#10 request");
  }
  auto parsed = std::make_unique<Parsed>();
  parsed->der.assign(der);
  parsed->key = subject_public_key(*raw->info->spki);
  parsed->public_key_info = copy_public_key_info(*raw->info->spki);
  parsed->raw = std::move(raw);
  return CertificateRequest(std::move(parsed));
}

CertificateRequest CertificateRequest::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  char* name = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  // "CERTIFICATE REQUEST", or the older "NEW CERTIFICATE REQUEST", as PEM_read_bio_X509_REQ.
  const int ok = bio ? PEM_bytes_read_bio(&data, &length, &name, PEM_STRING_X509_REQ, bio.get(),
                                          nullptr, nullptr)
                     : 0;
  const OpensslBytesPtr owned_data(data);
  const OpensslCharsPtr owned_name(name);
  if (ok != 1) {
    clear_openssl_errors();
    throw CryptoError("CSR is not a valid PEM PKCS#10 request");
  }
  try {
    return from_der(
        std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length)));
  } catch (const CryptoError&) {
    throw CryptoError("CSR is not a valid PEM PKCS#10 request");
  }
}

bool CertificateRequest::verify_signature() const {
  bool ok = false;
  if (parsed_) {
    // Over the CertificationRequestInfo as it came (its saved encoding), as X509_REQ_verify.
    ok = parsed_->key &&
         ASN1_item_verify_ex(ASN1_ITEM_rptr(RAW_REQ_INFO), parsed_->raw->signature_algorithm,
                             parsed_->raw->signature, parsed_->raw->info, nullptr,
                             parsed_->key.get(), nullptr, nullptr) == 1;
  } else {
    EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
    ok = key != nullptr && X509_REQ_verify(req_.get(), key) == 1;
  }
  clear_openssl_errors();
  return ok;
}

std::string CertificateRequest::to_der() const {
  if (parsed_) {
    return parsed_->der;
  }
  return encode_der(req_.get(), i2d_X509_REQ, "the CSR");
}

std::string CertificateRequest::to_pem() const {
  return pem_encode(to_der(), "CERTIFICATE REQUEST");
}

long CertificateRequest::version() const {
  if (parsed_) {
    const long version = ASN1_INTEGER_get(parsed_->raw->info->version);
    clear_openssl_errors();
    return version;
  }
  return X509_REQ_get_version(req_.get());
}

const X509_NAME* CertificateRequest::subject_name() const {
  return parsed_ ? parsed_->raw->info->subject : X509_REQ_get_subject_name(req_.get());
}

std::string CertificateRequest::subject_der() const {
  const unsigned char* der = nullptr;
  std::size_t length = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(subject_name()), &der, &length) != 1) {
    throw_openssl_error("cannot encode the CSR subject");
  }
  return std::string(reinterpret_cast<const char*>(der), length);
}

std::vector<std::string> CertificateRequest::subject_common_names() const {
  std::vector<std::string> names;
  auto* subject = const_cast<X509_NAME*>(subject_name());
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
  X509_NAME_print_ex(bio.get(), subject_name(), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

int CertificateRequest::find_attribute(const ASN1_OBJECT* type, int after) const {
  if (parsed_) {
    return X509at_get_attr_by_OBJ(parsed_->raw->info->attributes, type, after);
  }
  return X509_REQ_get_attr_by_OBJ(req_.get(), type, after);
}

const X509_ATTRIBUTE* CertificateRequest::attribute(int index) const {
  if (parsed_) {
    return X509at_get_attr(parsed_->raw->info->attributes, index);
  }
  return X509_REQ_get_attr(req_.get(), index);
}

std::optional<std::string> CertificateRequest::challenge_password() const {
  const int index = find_attribute(OBJ_nid2obj(NID_pkcs9_challengePassword));
  if (index < 0) {
    return std::nullopt;
  }
  auto* attribute = const_cast<X509_ATTRIBUTE*>(this->attribute(index));
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
  ExtensionStack extensions;
  if (parsed_) {
    // X509_REQ_get_extensions reads the first of extensionRequest and the older Microsoft
    // attribute that is present; given a request holding just that attribute, it reads it the
    // same way for a parsed request.
    extensions.reset(sk_X509_EXTENSION_new_null());
    for (const int nid : {NID_ext_req, NID_ms_ext_req}) {
      const int index = find_attribute(OBJ_nid2obj(nid));
      if (index < 0) {
        continue;
      }
      X509ReqPtr holder(X509_REQ_new());
      if (!holder ||
          X509_REQ_add1_attr(holder.get(), const_cast<X509_ATTRIBUTE*>(attribute(index))) != 1) {
        throw_openssl_error("cannot read the CSR's extensionRequest attribute");
      }
      extensions.reset(X509_REQ_get_extensions(holder.get()));
      break;
    }
  } else {
    extensions.reset(X509_REQ_get_extensions(req_.get()));
  }
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
  return parsed_ ? parsed_->key.get() : X509_REQ_get0_pubkey(req_.get());
}

const X509_PUBKEY* CertificateRequest::public_key_info() const {
  return parsed_ ? parsed_->public_key_info.get() : X509_REQ_get_X509_PUBKEY(req_.get());
}

X509_REQ* CertificateRequest::mutable_request() {
  if (parsed_) {
    const auto* p = reinterpret_cast<const unsigned char*>(parsed_->der.data());
    X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(parsed_->der.size())));
    if (!req) {
      throw_openssl_error("cannot read the CSR as an X509_REQ");
    }
    req_ = std::move(req);
    parsed_.reset();
  }
  return req_.get();
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
