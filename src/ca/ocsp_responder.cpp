#include "ca/ocsp_responder.hpp"

#include <openssl/x509v3.h>

#include <map>
#include <vector>

#include "ca/serial.hpp"
#include "crypto/error.hpp"
#include "crypto/ocsp.hpp"

namespace estfleet::ca {
namespace {

constexpr const char* kOcspNoCheckOid = "1.3.6.1.5.5.7.48.1.5";
constexpr const char* kDerNull = "\x05\x00";

}  // namespace

crypto::Certificate issue_ocsp_responder(const Authority& authority, const EVP_PKEY* public_key,
                                         crypto::TimePoint now, std::chrono::seconds validity) {
  crypto::CertificateSpec spec;
  spec.serial = random_serial();
  spec.subject_der = crypto::name_der({{"O", "est-fleet"}, {"CN", "est-fleet OCSP Responder"}});
  spec.public_key = public_key;
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = std::min(now + validity, authority.issuing_certificate().not_after());
  spec.key_usage = {"digitalSignature"};
  spec.extended_key_usage = {"OCSPSigning"};
  // RFC 6960 §4.2.2.2.1: relying parties need not check the responder's own revocation.
  spec.extra_extensions.push_back({kOcspNoCheckOid, false, std::string(kDerNull, 2)});
  return crypto::sign_certificate(spec, &authority.issuing_certificate(), authority.issuing_key());
}

std::optional<std::string> responder_problem(const Authority& authority,
                                             const ResponderIdentity& identity,
                                             crypto::TimePoint now) {
  if (!identity.certificate.matches_private_key(identity.key.get())) {
    return std::string("the OCSP responder key does not match its certificate");
  }
  if (const auto problem = authority.verify_issued(identity.certificate, now)) {
    return "the OCSP responder certificate is not usable: " + *problem;
  }
  const auto usage = X509_get_extended_key_usage(identity.certificate.get());
  if ((X509_get_extension_flags(identity.certificate.get()) & EXFLAG_XKUSAGE) == 0 ||
      (usage & XKU_OCSP_SIGN) == 0) {
    return std::string("the OCSP responder certificate is not for OCSP signing");
  }
  return std::nullopt;
}

OcspResponder::OcspResponder(const Authority& authority, registry::Store& store,
                             OcspSettings settings)
    : authority_(authority), store_(store), settings_(std::move(settings)) {}

const Authority* OcspResponder::named_authority(const crypto::OcspRequest& request, int index,
                                                crypto::TimePoint now) const {
  if (request.names_issuer(index, authority_.issuing_certificate())) {
    return &authority_;
  }
  const auto& previous = authority_.previous();
  if (previous && authority_.in_transition(now) &&
      request.names_issuer(index, previous->authority->issuing_certificate())) {
    return previous->authority.get();
  }
  return nullptr;
}

bool OcspResponder::issued_by(const Authority& ca, const std::string& pem) const {
  if (!authority_.previous()) {
    return true;  // one CA: every serial in the registry is its own
  }
  // Two CAs share the registry: a serial counts only under the CA that signed it.
  return crypto::Certificate::from_pem(pem).issuer_der() == ca.issuing_certificate().subject_der();
}

std::string OcspResponder::respond(std::string_view request_der, const ResponderIdentity& identity,
                                   crypto::TimePoint now) const {
  // Counted from the DER layout before OpenSSL decodes anything. A request whose layout cannot be
  // counted (BER's indefinite lengths, over-long length octets: RFC 6960 asks for DER) is refused
  // too, or OpenSSL, which reads those, would decode however many CertIDs it holds.
  if (const auto named = crypto::OcspRequest::count_in(request_der);
      !named || *named > static_cast<std::size_t>(kMaxOcspCertIds)) {
    return crypto::ocsp_error_response(crypto::OcspResponseStatus::malformed_request);
  }
  std::optional<crypto::OcspRequest> request;
  try {
    request.emplace(crypto::OcspRequest::from_der(request_der));
  } catch (const crypto::CryptoError&) {
    return crypto::ocsp_error_response(crypto::OcspResponseStatus::malformed_request);
  }
  const int count = request->count();
  // Counted again once decoded, should the two readings ever differ.
  if (count > kMaxOcspCertIds) {
    return crypto::ocsp_error_response(crypto::OcspResponseStatus::malformed_request);
  }
  try {
    // The CA that answers: the one the first certificate we can answer for names. During a CA
    // rollover's transition that may be the previous CA, which signs its answers itself.
    const Authority* answering = nullptr;
    // The serial of each CertID the answering CA is asked about; empty for the others.
    std::vector<std::string> asked(static_cast<std::size_t>(count));
    std::vector<std::string> serials;
    for (int i = 0; i < count; ++i) {
      const Authority* named = named_authority(*request, i, now);
      if (answering == nullptr) {
        answering = named;
      }
      if (named != nullptr && named == answering) {
        auto& serial = asked[static_cast<std::size_t>(i)];
        serial = request->serial_hex(i);
        serials.push_back(serial);
      }
    }
    if (answering == nullptr) {
      return crypto::ocsp_error_response(crypto::OcspResponseStatus::unauthorized);
    }
    std::map<std::string, registry::RevocationLookup, std::less<>> registered;
    for (auto& found : store_.revocation_entries_for(serials)) {
      auto serial = found.entry.serial;
      registered.emplace(std::move(serial), std::move(found));
    }
    const auto this_update = to_time_point(to_unix_seconds(now));
    const auto default_next = this_update + settings_.validity;
    crypto::OcspResponseBuilder builder;
    for (int i = 0; i < count; ++i) {
      crypto::OcspCertStatus status{crypto::OcspCertState::unknown, {}, std::nullopt};
      auto next_update = default_next;
      const auto& serial = asked[static_cast<std::size_t>(i)];
      const auto found = serial.empty() ? registered.end() : registered.find(serial);
      if (found != registered.end() && issued_by(*answering, found->second.pem)) {
        const auto& entry = found->second.entry;
        if (const auto revoked = effective_revocation(entry, settings_.revocation, now)) {
          status = {crypto::OcspCertState::revoked, revoked->revoked_at, revoked->reason};
        } else {
          status.state = crypto::OcspCertState::good;
          if (const auto end = grace_end(entry, settings_.revocation)) {
            next_update = std::min(default_next, *end);
          }
        }
      }
      builder.add(request->cert_id(i), status, this_update,
                  std::max(next_update, this_update + std::chrono::seconds(1)));
    }
    builder.copy_nonce(*request);
    if (answering != &authority_) {
      return builder.sign(answering->issuing_certificate(), answering->issuing_key(), {});
    }
    return builder.sign(identity.certificate, identity.key.get(),
                        {authority_.issuing_certificate()});
  } catch (const registry::StoreUnavailable&) {
    return crypto::ocsp_error_response(crypto::OcspResponseStatus::try_later);
  } catch (const std::exception&) {
    return crypto::ocsp_error_response(crypto::OcspResponseStatus::internal_error);
  }
}

}  // namespace estfleet::ca
