#include "crypto/ocsp.hpp"

#include <openssl/err.h>

#include "crypto/asn1_values.hpp"
#include "crypto/der.hpp"
#include "crypto/error.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {
namespace {

OCSP_CERTID* mutable_id(const OCSP_CERTID* id) {
  // OpenSSL 3 takes these arguments as non-const but only reads them.
  return const_cast<OCSP_CERTID*>(id);
}

std::optional<std::string> extension_value(const X509_EXTENSION* extension) {
  if (extension == nullptr) {
    return std::nullopt;
  }
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(extension));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

int status_code(OcspCertState state) {
  switch (state) {
    case OcspCertState::good:
      return V_OCSP_CERTSTATUS_GOOD;
    case OcspCertState::revoked:
      return V_OCSP_CERTSTATUS_REVOKED;
    case OcspCertState::unknown:
      return V_OCSP_CERTSTATUS_UNKNOWN;
  }
  return V_OCSP_CERTSTATUS_UNKNOWN;
}

std::string serial_of(const OCSP_CERTID* id) {
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, mutable_id(id)) != 1 ||
      serial == nullptr) {
    throw_openssl_error("an OCSP CertID has no serial number");
  }
  return integer_hex(serial);
}

struct DerElement {
  unsigned char tag = 0;
  std::string_view content;
};

// Takes one DER element off the front of `der`; nullopt when its header or length does not fit
// (indefinite lengths and multi-octet tags included: an OCSPRequest has neither).
std::optional<DerElement> take_element(std::string_view& der) {
  if (der.size() < 2 || (static_cast<unsigned char>(der[0]) & 0x1F) == 0x1F) {
    return std::nullopt;
  }
  const auto tag = static_cast<unsigned char>(der[0]);
  std::size_t length = static_cast<unsigned char>(der[1]);
  std::size_t header = 2;
  if ((length & 0x80) != 0) {
    const std::size_t octets = length & 0x7F;
    if (octets == 0 || octets > sizeof(std::size_t) || der.size() < header + octets) {
      return std::nullopt;
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8) | static_cast<unsigned char>(der[header + i]);
    }
    header += octets;
  }
  if (der.size() - header < length) {
    return std::nullopt;
  }
  const DerElement element{tag, der.substr(header, length)};
  der.remove_prefix(header + length);
  return element;
}

constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kVersionTag = 0xA0;        // TBSRequest.version [0] EXPLICIT
constexpr unsigned char kRequestorNameTag = 0xA1;  // TBSRequest.requestorName [1] EXPLICIT

}  // namespace

std::optional<std::size_t> OcspRequest::count_in(std::string_view der) {
  // OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, ... }; TBSRequest ::= SEQUENCE { version,
  // requestorName (both optional), requestList SEQUENCE OF Request, ... } (RFC 6960 §4.1.1).
  const auto request = take_element(der);
  if (!request || request->tag != kSequence) {
    return std::nullopt;
  }
  auto body = request->content;
  const auto tbs = take_element(body);
  if (!tbs || tbs->tag != kSequence) {
    return std::nullopt;
  }
  auto fields = tbs->content;
  auto field = take_element(fields);
  while (field && (field->tag == kVersionTag || field->tag == kRequestorNameTag)) {
    field = take_element(fields);
  }
  if (!field || field->tag != kSequence) {
    return std::nullopt;
  }
  std::size_t count = 0;
  for (auto list = field->content; !list.empty(); ++count) {
    if (!take_element(list)) {
      return std::nullopt;
    }
  }
  return count;
}

OcspRequest OcspRequest::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspRequestPtr request(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  if (!request || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    throw CryptoError("the data is not a DER OCSPRequest");
  }
  if (OCSP_request_onereq_count(request.get()) < 1) {
    throw CryptoError("the OCSP request names no certificate");
  }
  return OcspRequest(std::move(request));
}

int OcspRequest::count() const {
  return OCSP_request_onereq_count(request_.get());
}

const OCSP_CERTID* OcspRequest::cert_id(int index) const {
  return OCSP_onereq_get0_id(OCSP_request_onereq_get0(request_.get(), index));
}

std::string OcspRequest::serial_hex(int index) const {
  return serial_of(cert_id(index));
}

bool OcspRequest::names_issuer(int index, const Certificate& issuer) const {
  ASN1_OBJECT* algorithm = nullptr;
  if (OCSP_id_get0_info(nullptr, &algorithm, nullptr, nullptr, mutable_id(cert_id(index))) != 1) {
    clear_openssl_errors();
    return false;
  }
  const EVP_MD* digest = EVP_get_digestbyobj(algorithm);
  if (digest == nullptr) {
    clear_openssl_errors();
    return false;
  }
  const OcspCertIdPtr ours(OCSP_cert_to_id(digest, nullptr, issuer.get()));
  if (!ours) {
    clear_openssl_errors();
    return false;
  }
  return OCSP_id_issuer_cmp(ours.get(), cert_id(index)) == 0;
}

std::optional<std::string> OcspRequest::nonce() const {
  const int index = OCSP_REQUEST_get_ext_by_NID(request_.get(), NID_id_pkix_OCSP_Nonce, -1);
  if (index < 0) {
    return std::nullopt;
  }
  return extension_value(OCSP_REQUEST_get_ext(request_.get(), index));
}

OcspResponseBuilder::OcspResponseBuilder() : basic_(OCSP_BASICRESP_new()) {
  if (!basic_) {
    throw_openssl_error("cannot create an OCSP response");
  }
}

void OcspResponseBuilder::add(const OCSP_CERTID* id, const OcspCertStatus& status,
                              TimePoint this_update, TimePoint next_update) {
  const auto this_time = to_asn1_time(this_update);
  const auto next_time = to_asn1_time(next_update);
  Asn1TimePtr revoked_time;
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;
  if (status.state == OcspCertState::revoked) {
    revoked_time = to_asn1_time(status.revoked_at);
    if (status.reason && *status.reason != CrlReason::unspecified) {
      reason = static_cast<int>(*status.reason);
    }
  }
  if (OCSP_basic_add1_status(basic_.get(), mutable_id(id), status_code(status.state), reason,
                             revoked_time.get(), this_time.get(), next_time.get()) == nullptr) {
    throw_openssl_error("cannot add a status to the OCSP response");
  }
}

void OcspResponseBuilder::copy_nonce(const OcspRequest& request) {
  // 1: copied, 2: the request had none; both are fine.
  if (OCSP_copy_nonce(basic_.get(), request.get()) <= 0) {
    throw_openssl_error("cannot copy the OCSP nonce");
  }
}

std::string OcspResponseBuilder::sign(const Certificate& responder, const EVP_PKEY* responder_key,
                                      const std::vector<Certificate>& extra_certs) {
  const BorrowedX509StackPtr certs(sk_X509_new_null());
  for (const auto& cert : extra_certs) {
    if (!certs || sk_X509_push(certs.get(), cert.get()) <= 0) {
      throw_openssl_error("cannot list the OCSP response's certificates");
    }
  }
  if (OCSP_basic_sign(basic_.get(), responder.get(), const_cast<EVP_PKEY*>(responder_key),
                      signature_digest_for(responder_key), certs.get(), OCSP_RESPID_KEY) != 1) {
    throw_openssl_error("signing the OCSP response failed");
  }
  const OcspResponsePtr response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic_.get()));
  if (!response) {
    throw_openssl_error("cannot wrap the OCSP response");
  }
  return encode_der(response.get(), i2d_OCSP_RESPONSE, "the OCSP response");
}

std::string ocsp_error_response(OcspResponseStatus status) {
  const OcspResponsePtr response(OCSP_response_create(static_cast<int>(status), nullptr));
  if (!response) {
    throw_openssl_error("cannot create an OCSP error response");
  }
  return encode_der(response.get(), i2d_OCSP_RESPONSE, "the OCSP response");
}

std::string build_ocsp_request(const Certificate& cert, const Certificate& issuer,
                               const std::optional<std::string>& nonce) {
  return build_ocsp_request(std::vector<Certificate>{cert}, issuer, nonce);
}

std::string build_ocsp_request(const std::vector<Certificate>& certs, const Certificate& issuer,
                               const std::optional<std::string>& nonce) {
  const OcspRequestPtr request(OCSP_REQUEST_new());
  if (!request) {
    throw_openssl_error("cannot build an OCSP request");
  }
  for (const auto& cert : certs) {
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, cert.get(), issuer.get()));
    if (!id || OCSP_request_add0_id(request.get(), id.get()) == nullptr) {
      throw_openssl_error("cannot build an OCSP request");
    }
    static_cast<void>(id.release());  // owned by the request now
  }
  if (nonce &&
      OCSP_request_add1_nonce(request.get(),
                              reinterpret_cast<unsigned char*>(const_cast<char*>(nonce->data())),
                              static_cast<int>(nonce->size())) != 1) {
    throw_openssl_error("cannot add a nonce to the OCSP request");
  }
  return encode_der(request.get(), i2d_OCSP_REQUEST, "the OCSP request");
}

OcspResponse OcspResponse::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    clear_openssl_errors();
    throw CryptoError("the data is not a DER OCSPResponse");
  }
  OcspBasicResponsePtr basic;
  if (OCSP_response_status(response.get()) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    basic.reset(OCSP_response_get1_basic(response.get()));
    if (!basic) {
      throw_openssl_error("the successful OCSP response holds no basic response");
    }
  }
  return OcspResponse(std::move(response), std::move(basic));
}

OcspResponseStatus OcspResponse::status() const {
  return static_cast<OcspResponseStatus>(OCSP_response_status(response_.get()));
}

std::vector<OcspSingleResponse> OcspResponse::responses() const {
  std::vector<OcspSingleResponse> singles;
  if (!basic_) {
    return singles;
  }
  for (int i = 0; i < OCSP_resp_count(basic_.get()); ++i) {
    OCSP_SINGLERESP* single = OCSP_resp_get0(basic_.get(), i);
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_GENERALIZEDTIME* revoked = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    const int state =
        OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update);
    OcspSingleResponse out;
    out.serial_hex = serial_of(OCSP_SINGLERESP_get0_id(single));
    out.status.state = state == V_OCSP_CERTSTATUS_GOOD      ? OcspCertState::good
                       : state == V_OCSP_CERTSTATUS_REVOKED ? OcspCertState::revoked
                                                            : OcspCertState::unknown;
    if (out.status.state == OcspCertState::revoked) {
      out.status.revoked_at = from_asn1_time(revoked);
      if (reason != OCSP_REVOKED_STATUS_NOSTATUS) {
        out.status.reason = static_cast<CrlReason>(reason);
      }
    }
    out.this_update = from_asn1_time(this_update);
    if (next_update != nullptr) {
      out.next_update = from_asn1_time(next_update);
    }
    singles.push_back(std::move(out));
  }
  return singles;
}

std::optional<std::string> OcspResponse::nonce() const {
  if (!basic_) {
    return std::nullopt;
  }
  const int index = OCSP_BASICRESP_get_ext_by_NID(basic_.get(), NID_id_pkix_OCSP_Nonce, -1);
  if (index < 0) {
    return std::nullopt;
  }
  return extension_value(OCSP_BASICRESP_get_ext(basic_.get(), index));
}

std::vector<Certificate> OcspResponse::certificates() const {
  std::vector<Certificate> certs;
  if (!basic_) {
    return certs;
  }
  const STACK_OF(X509)* stack = OCSP_resp_get0_certs(basic_.get());
  for (int i = 0; i < sk_X509_num(stack); ++i) {
    X509* cert = sk_X509_value(stack, i);
    X509_up_ref(cert);
    certs.emplace_back(X509Ptr(cert));
  }
  return certs;
}

std::optional<std::string> OcspResponse::verify(const std::vector<Certificate>& trusted,
                                                std::optional<TimePoint> at) const {
  if (!basic_) {
    return std::string("the OCSP response was not successful, so it carries no signature");
  }
  const X509StorePtr store(X509_STORE_new());
  for (const auto& cert : trusted) {
    if (!store || X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      throw_openssl_error("cannot build the OCSP trust store");
    }
  }
  if (at) {
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()),
                               std::chrono::system_clock::to_time_t(*at));
  }
  if (OCSP_basic_verify(basic_.get(), nullptr, store.get(), 0) == 1) {
    clear_openssl_errors();
    return std::nullopt;
  }
  const unsigned long error = ERR_peek_last_error();
  const char* reason = ERR_reason_error_string(error);
  clear_openssl_errors();
  return std::string(reason != nullptr ? reason : "the OCSP response does not verify");
}

}  // namespace estfleet::crypto
