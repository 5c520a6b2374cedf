#include "est/service.hpp"

#include <stdexcept>

#include "common/printable.hpp"
#include "crypto/error.hpp"
#include "crypto/key.hpp"
#include "crypto/pkcs7.hpp"
#include "est/approval.hpp"
#include "est/authentication.hpp"
#include "est/csr_attributes.hpp"
#include "est/csr_checks.hpp"
#include "est/identity_check.hpp"
#include "est/iot_request.hpp"
#include "est/media.hpp"
#include "est/proof_of_possession.hpp"
#include "est/refusal.hpp"
#include "est/server_keygen.hpp"
#include "est/thing_policy.hpp"

namespace estfleet::est {
namespace {

registry::UnixSeconds unix_seconds(crypto::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void require_content_type(const http::Request& request, std::string_view expected) {
  const auto header = request.header("Content-Type");
  if (!header) {
    throw Refusal(415, "the request has no Content-Type; expected " + std::string(expected));
  }
  if (media_type_of(*header) != expected) {
    throw Refusal(415, "Content-Type " + media_type_of(*header) + " is not accepted; expected " +
                           std::string(expected));
  }
}

registry::CertificateRecord record_of(const crypto::Certificate& cert,
                                      const std::string& thing_name, const std::string& profile,
                                      crypto::TimePoint now) {
  registry::CertificateRecord record;
  record.serial = cert.serial_hex();
  record.thing_name = thing_name;
  record.subject = cert.subject_text();
  record.profile = profile;
  record.not_before = unix_seconds(cert.not_before());
  record.not_after = unix_seconds(cert.not_after());
  record.issued_at = unix_seconds(now);
  record.pem = cert.to_pem();
  record.sha256_fingerprint = cert.sha256_fingerprint();
  return record;
}

// Whether this principal may enroll this ThingName under this profile. Throws Refusal.
void check_thing_name_allowed(const std::string& thing_name, const Principal& principal,
                              const EnrollmentProfile& profile) {
  if (principal.fleet_thing_name && *principal.fleet_thing_name != thing_name) {
    throw Refusal(403, "the fleet password of " + *principal.fleet_thing_name +
                           " enrolls only that ThingName, not " + thing_name);
  }
  if (profile.thing_name_pattern && !profile.thing_name_pattern->matches(thing_name)) {
    throw Refusal(400, "the ThingName " + thing_name + " does not match this profile's pattern " +
                           profile.thing_name_pattern->text());
  }
}

// How a certificate records who enrolled it: the method and the name, since a registry user and
// a device's fleet password can share a name.
std::string enrolled_by(const Principal& principal) {
  return principal.method + ":" + principal.name;
}

// What an initial enrollment finds about the thing's current certificate.
struct ThingState {
  // An unexpired active certificate: a second enrollment is a repeat of the first or refused.
  std::optional<registry::CertificateRecord> active;
  // An active certificate that has expired: this enrollment supersedes it (its device could not
  // renew it any more).
  std::optional<registry::CertificateRecord> expired;
};

// Refuses early, with a plain answer, what the store would refuse at the end anyway.
ThingState check_thing_may_enroll(registry::Store& store, const std::string& thing_name,
                                  crypto::TimePoint now) {
  if (const auto thing = store.find_thing(thing_name);
      thing && thing->status == registry::ThingStatus::disabled) {
    throw Refusal(403, "thing " + thing_name + " is disabled; an operator must enable it first");
  }
  ThingState state;
  if (auto active = store.active_certificate(thing_name)) {
    if (active->not_after < unix_seconds(now)) {
      state.expired = std::move(active);
    } else {
      state.active = std::move(active);
    }
  }
  return state;
}

// An expired certificate frees its ThingName only for its own device, not for whoever else may
// enroll under some profile: the principal that enrolled it, the fleet password of exactly that
// name, or the holder of its key, and only under the profile that issued it. Anyone else gets
// the 409 an active certificate means, or a lapse would hand the name to the first taker and
// lock the real device out for a whole validity.
void check_may_supersede_expired(const registry::CertificateRecord& expired,
                                 const crypto::CertificateRequest& csr, const Principal& principal,
                                 const std::string& profile) {
  const bool same_principal =
      principal.fleet_thing_name == expired.thing_name ||
      (!expired.enrolled_by.empty() && expired.enrolled_by == enrolled_by(principal));
  const bool same_key =
      crypto::public_key_der(crypto::Certificate::from_pem(expired.pem).public_key()) ==
      crypto::public_key_der(csr.public_key());
  if (expired.profile != profile || !(same_principal || same_key)) {
    throw Refusal(409, "thing " + expired.thing_name + "'s certificate " + expired.serial +
                           " has expired, but only its own device may enroll it again (the "
                           "principal that enrolled it, that name's fleet password, or its key) "
                           "under " +
                           describe_profile(expired.profile));
  }
}

// `record` sent again to a device whose answer was lost: audited as `repeated` with `reason`,
// nothing issued or changed.
Outcome answer_again(registry::Store& store, const registry::CertificateRecord& record,
                     const crypto::Certificate& cert, registry::AuditEvent audit,
                     std::string reason, const std::string& principal) {
  audit.serial = record.serial;
  audit.result = "repeated";
  audit.reason = std::move(reason);
  store.append_audit(audit);
  Outcome outcome{base64_response(kCertsOnly, crypto::pkcs7_certs_only({cert})), record.thing_name,
                  record.serial, principal};
  outcome.repeated = true;
  return outcome;
}

// An initial enrollment asked again when the thing already holds `active`: the device lost the
// answer (dropped connection, crash, a reply it could not parse) and holds no certificate to
// renew with. The same principal asking with the same key for the same content, under the same
// profile, is sent that certificate again; nothing is issued or changed, the repeat is audited.
// Anything else is the 409 an active certificate always meant.
Outcome repeat_enrollment(registry::Store& store, const registry::CertificateRecord& active,
                          const crypto::CertificateRequest& csr, const Principal& principal,
                          const std::string& profile, const std::string& content_sha256,
                          registry::AuditEvent audit) {
  const auto cert = crypto::Certificate::from_pem(active.pem);
  if (active.enrolled_by.empty() || active.enrolled_by != enrolled_by(principal) ||
      active.profile != profile || active.content_sha256 != content_sha256 ||
      crypto::public_key_der(cert.public_key()) != crypto::public_key_der(csr.public_key())) {
    throw Refusal(409, "thing " + active.thing_name +
                           " already holds an active certificate; renew it with simplereenroll "
                           "(an enrollment is answered again only for its own key, credentials "
                           "and request)");
  }
  return answer_again(store, active, cert, std::move(audit),
                      "the enrollment of " + active.serial +
                          " was asked again with its key, credentials and request (the answer "
                          "was lost); the same certificate was sent again, nothing was issued",
                      principal.name);
}

// simplereenroll by a superseded certificate whose successor is `successor` (unanswered_renewal):
// the device lost the answer. The holder of the successor's key (the CSR, checked like any other,
// is signed by it) gets the same certificate again; nothing is issued or changed, the repeat is
// audited. Any other key is refused with `refusal`, as a superseded certificate always was.
Outcome repeat_renewal(registry::Store& store, const registry::CertificateRecord& successor,
                       const crypto::CertificateRequest& csr, registry::AuditEvent audit,
                       const std::string& refusal) {
  const auto cert = crypto::Certificate::from_pem(successor.pem);
  if (crypto::public_key_der(cert.public_key()) != crypto::public_key_der(csr.public_key()) ||
      cert.subject_der() != csr.subject_der() ||
      cert.subject_alt_name_der() != csr.subject_alt_name_der()) {
    throw Refusal(403, refusal);
  }
  const std::string actor = audit.actor;
  return answer_again(store, successor, cert, std::move(audit),
                      "the renewal to " + successor.serial +
                          " was asked again with its key (the answer was lost); the same "
                          "certificate was sent again, nothing was issued",
                      actor);
}

}  // namespace

// What is known about one request so far, for the audit log.
struct EstService::Attempt {
  registry::AuditEvent event;
  bool authenticating = false;  // a Refusal now is a failed authentication
  const AuthenticationDecided* decided = nullptr;

  // Authentication is over: tells whoever waits for it, once.
  void end_authentication(bool refused) {
    if (!authenticating) {
      return;
    }
    authenticating = false;
    if (decided != nullptr && *decided) {
      (*decided)(refused);
    }
  }
};

EstService::EstService(const ca::Authority& authority, registry::Store& store,
                       std::vector<EnrollmentProfile> profiles, Clock clock)
    : authority_(authority),
      store_(store),
      clock_(std::move(clock)),
      cacerts_der_(crypto::pkcs7_certs_only(authority.chain())),
      cacerts_transition_der_(crypto::pkcs7_certs_only(authority.chain_with_links())) {
  for (auto& profile : profiles) {
    if (profile.accepts(AuthMethod::tls_client) && !profile.bootstrap_trust) {
      throw std::invalid_argument("profile '" + profile.label +
                                  "' accepts tls-client but has no bootstrap trust store");
    }
    csrattrs_der_[profile.label] = csr_attributes_der(profile);
    const std::string label = profile.label;
    if (!profiles_.emplace(label, std::move(profile)).second) {
      throw std::invalid_argument("two profiles share the label '" + label + "'");
    }
  }
}

Outcome EstService::handle(const http::Request& request, const http::TlsPeer& peer,
                           const AuthenticationDecided& decided) const {
  const auto route = parse_route(request.target);
  if (!route) {
    return Outcome{error_response(404, "no EST resource at this path"), {}, {}, {}};
  }
  if (request.method != operation_method(route->operation)) {
    auto response = error_response(405, std::string(operation_name(route->operation)) + " takes " +
                                            std::string(operation_method(route->operation)));
    response.headers.emplace_back("Allow", std::string(operation_method(route->operation)));
    return Outcome{std::move(response), {}, {}, {}};
  }
  const auto profile = profiles_.find(route->label);
  if (profile == profiles_.end()) {
    return Outcome{
        error_response(404, "no enrollment profile has the label '" + route->label + "'"),
        {},
        {},
        {}};
  }

  Attempt attempt;
  attempt.event.time = unix_seconds(clock_());
  attempt.event.source_address = peer.remote_address;
  attempt.event.operation = std::string(operation_name(route->operation));
  attempt.event.profile = route->label;
  attempt.decided = &decided;
  try {
    return dispatch(request, peer, *route, profile->second, attempt);
  } catch (const Refusal& refusal) {
    // A refusal may quote what the client sent (a CN, an extension): one bounded line, escaped.
    const std::string sentence = common::printable(refusal.what());
    audit_refusal(attempt, sentence);
    auto response = error_response(refusal.status(), sentence);
    for (const auto& header : refusal.headers()) {
      response.headers.push_back(header);
    }
    Outcome outcome{std::move(response), attempt.event.thing_name, {}, attempt.event.actor};
    // Refused credentials count against the source; a busy server (503) is no failed login.
    if (attempt.authenticating && (refusal.status() == 401 || refusal.status() == 403)) {
      outcome.auth_failure = refusal.status() == 401 ? "basic" : "tls-client";
    }
    attempt.end_authentication(!outcome.auth_failure.empty());
    return outcome;
  } catch (const registry::StoreUnavailable& e) {
    attempt.end_authentication(false);
    // The store's reason names the database server, its user and files: for the operator's log,
    // never for a client, which may not even have authenticated yet.
    Outcome outcome{error_response(503, "the registry is unavailable, nothing was issued"),
                    attempt.event.thing_name,
                    {},
                    attempt.event.actor};
    outcome.response.headers.emplace_back("Retry-After", "10");
    outcome.log_detail = e.what();
    return outcome;
  } catch (const std::exception& e) {
    attempt.end_authentication(false);
    audit_refusal(attempt, std::string("internal error: ") + e.what());
    return Outcome{error_response(500, "the server failed to process the request"),
                   attempt.event.thing_name,
                   {},
                   attempt.event.actor};
  }
}

Outcome EstService::dispatch(const http::Request& request, const http::TlsPeer& peer,
                             const Route& route, const EnrollmentProfile& profile,
                             Attempt& attempt) const {
  switch (route.operation) {
    case Operation::cacerts:
      return Outcome{
          base64_response(kPkcs7Mime, authority_.in_transition(clock_()) ? cacerts_transition_der_
                                                                         : cacerts_der_),
          {},
          {},
          {}};
    case Operation::csrattrs:
      return Outcome{
          base64_response(kCsrAttrs, csrattrs_der_.find(profile.label)->second), {}, {}, {}};
    case Operation::simpleenroll:
      return enroll(request, peer, profile, attempt);
    case Operation::simplereenroll:
      return reenroll(request, peer, profile, attempt);
    case Operation::serverkeygen:
      if (!profile.serverkeygen) {
        return Outcome{error_response(501, "serverkeygen is not offered by " +
                                               describe_profile(profile.label)),
                       {},
                       {},
                       {}};
      }
      return enroll(request, peer, profile, attempt, true);
    case Operation::fullcmc:
      return Outcome{error_response(501, "fullcmc is not implemented by this server"), {}, {}, {}};
  }
  return Outcome{error_response(404, "no EST resource at this path"), {}, {}, {}};
}

Outcome EstService::enroll(const http::Request& request, const http::TlsPeer& peer,
                           const EnrollmentProfile& profile, Attempt& attempt,
                           bool server_keygen) const {
  const auto now = clock_();
  attempt.authenticating = true;
  const Principal principal = authenticate_enrollment(request, peer, profile, store_, authority_,
                                                      credentials_, password_slots_, now);
  attempt.end_authentication(false);
  attempt.event.actor = principal.name;
  require_content_type(request, kPkcs10);
  const auto csr = parse_enrollment_csr(request.body);
  const std::string thing_name = check_csr_for_issuance(csr, profile.issuance);
  attempt.event.thing_name = thing_name;
  // serverkeygen certifies a key of the server's making, so the CSR's key type does not matter.
  check_csr_requirements(csr, profile, !server_keygen, true);
  check_thing_name_allowed(thing_name, principal, profile);
  check_proof_of_possession(csr, peer, profile.require_pop);
  // serverkeygen: how the key would go back is settled before anything is approved or signed.
  std::optional<KeyDelivery> delivery;
  if (server_keygen) {
    delivery = plan_key_delivery(csr, peer);
  }
  auto iot = read_iot_request(csr, profile.allowed_attributes);
  auto document = thing_policy_document(iot.details, thing_name, profile.policy_template);
  const std::string content_sha256 = requested_content_sha256(csr, iot);
  const auto state = check_thing_may_enroll(store_, thing_name, now);
  if (state.expired) {
    check_may_supersede_expired(*state.expired, csr, principal, profile.label);
  }
  if (state.active) {
    if (server_keygen) {  // the key it certified was never kept, so it cannot be sent again
      throw Refusal(409, "thing " + thing_name +
                             " already holds an active certificate; renew it with simplereenroll");
    }
    return repeat_enrollment(store_, *state.active, csr, principal, profile.label, content_sha256,
                             attempt.event);
  }

  std::optional<std::int64_t> fulfils_request;
  if (profile.approval == Approval::manual) {
    registry::EnrollmentRequest candidate;
    candidate.thing_name = thing_name;
    candidate.profile = profile.label;
    candidate.public_key_sha256 = public_key_sha256(crypto::public_key_der(csr.public_key()));
    candidate.content_sha256 = content_sha256;
    candidate.requested_by = principal.name;
    candidate.source_address = peer.remote_address;
    candidate.requested_at = unix_seconds(now);
    auto gate = pass_approval(store_, candidate, attempt.event, profile.retry_after);
    if (gate.pending) {
      return Outcome{std::move(*gate.pending), thing_name, {}, principal.name};
    }
    fulfils_request = gate.fulfils_request;
  }

  // serverkeygen certifies a key generated here, never stored or logged; the CSR's key only
  // signed the request.
  ca::IssueRequest issue_request;
  issue_request.thing_name = thing_name;
  issue_request.subject_alt_name_der = csr.subject_alt_name_der();
  issue_request.now = now;
  std::optional<crypto::PrivateKey> generated;
  if (server_keygen) {
    generated.emplace(crypto::PrivateKey::generate(server_key_type(csr, profile)));
    issue_request.public_key = generated->get();
  } else {
    issue_request.public_key = csr.public_key();
    issue_request.public_key_info = csr.public_key_info();
  }
  const auto cert = authority_.issue(issue_request, profile.issuance);
  auto audit = attempt.event;
  audit.serial = cert.serial_hex();
  audit.result = "ok";
  if (state.expired) {
    audit.reason = "supersedes " + state.expired->serial + ", which expired at " +
                   std::to_string(state.expired->not_after) + " (Unix time)";
  }
  registry::ThingRegistration registration{profile.label, std::move(iot.attributes), thing_name,
                                           std::move(document), fulfils_request};
  auto record = record_of(cert, thing_name, profile.label, now);
  record.enrolled_by = enrolled_by(principal);
  record.content_sha256 = content_sha256;
  try {
    store_.record_enrollment(record, registration, audit);
  } catch (const registry::ConflictError& e) {
    // Two identical requests at once (a device retrying before its first answer came): the one
    // that lost the race is answered with the winner's certificate. What it signed never leaves.
    if (const auto winner = store_.active_certificate(thing_name); winner && !server_keygen) {
      return repeat_enrollment(store_, *winner, csr, principal, profile.label, content_sha256,
                               attempt.event);
    }
    throw Refusal(409, e.what());
  } catch (const registry::ThingDisabledError& e) {
    throw Refusal(403, e.what());
  }
  if (generated) {
    return Outcome{
        server_keygen_response(*generated, cert, *delivery, authority_.issuing_certificate(),
                               authority_.issuing_key()),
        thing_name, cert.serial_hex(), principal.name};
  }
  return Outcome{base64_response(kCertsOnly, crypto::pkcs7_certs_only({cert})), thing_name,
                 cert.serial_hex(), principal.name};
}

Outcome EstService::reenroll(const http::Request& request, const http::TlsPeer& peer,
                             const EnrollmentProfile& profile, Attempt& attempt) const {
  const auto now = clock_();
  attempt.authenticating = true;  // until the certificate being renewed has passed its checks
  if (peer.peer_chain_der.empty()) {
    throw Refusal(403, "simplereenroll requires the TLS client certificate being renewed");
  }
  std::optional<crypto::Certificate> current;
  try {
    current.emplace(crypto::Certificate::from_der(peer.peer_chain_der.front()));
  } catch (const crypto::CryptoError&) {
    throw Refusal(403, "the TLS client certificate cannot be parsed");
  }
  // Names go into the audit row and the log only once this CA has vouched for them: a client's
  // self-made certificate can hold anything in its subject.
  if (auto problem = authority_.verify_issued(*current, now)) {
    throw Refusal(403, "the TLS client certificate cannot be renewed: " + *problem);
  }
  attempt.event.actor = current->subject_text();
  attempt.event.thing_name = current->subject_common_name();
  const auto record = store_.find_certificate(current->serial_hex());
  if (!record) {
    throw Refusal(403, "the TLS client certificate is not in the registry");
  }
  // Revoked, superseded or its thing disabled: refused before anything is signed. Except a
  // renewal whose answer never reached the device: its successor may be sent again (below).
  const auto problem = registered_identity_problem(store_, *record);
  std::optional<registry::CertificateRecord> successor;
  if (problem) {
    successor = unanswered_renewal(store_, *record, unix_seconds(now));
    if (!successor) {
      throw Refusal(403, *problem);
    }
  }
  attempt.end_authentication(false);
  // A certificate is renewed under the rules that issued it: another label could hand it a
  // longer lifetime, other key rules or SAN kinds than its own profile allows.
  if (record->profile != profile.label) {
    throw Refusal(403, "the TLS client certificate was issued under " +
                           describe_profile(record->profile) +
                           " and renews only there, not under " + describe_profile(profile.label));
  }

  require_content_type(request, kPkcs10);
  const auto csr = parse_enrollment_csr(request.body);
  // RFC 7030 §4.2.2: the renewed identity is exactly the current one.
  if (csr.subject_der() != current->subject_der()) {
    throw Refusal(400, "the CSR's subject differs from the certificate being renewed");
  }
  if (csr.subject_alt_name_der() != current->subject_alt_name_der()) {
    throw Refusal(400, "the CSR's subjectAltName differs from the certificate being renewed");
  }
  const std::string thing_name = check_csr_for_issuance(csr, profile.issuance);
  // The subject is the certificate's (RFC 7030 §4.2.2); the key and extensions are checked.
  check_csr_requirements(csr, profile, true, false);
  check_proof_of_possession(csr, peer, profile.require_pop);
  if (successor) {
    return repeat_renewal(store_, *successor, csr, attempt.event, *problem);
  }

  const auto cert = authority_.issue(
      ca::IssueRequest{
          thing_name, csr.public_key(), csr.subject_alt_name_der(), {}, now, csr.public_key_info()},
      profile.issuance);
  auto new_record = record_of(cert, thing_name, profile.label, now);
  new_record.replaces = record->serial;
  // Who enrolled the identity stays with it through renewals: it may enroll it again should the
  // certificate lapse (check_may_supersede_expired).
  new_record.enrolled_by = record->enrolled_by;
  auto audit = attempt.event;
  audit.serial = cert.serial_hex();
  audit.result = "ok";
  try {
    store_.record_reenrollment(new_record, audit);
  } catch (const registry::ConflictError& e) {
    throw Refusal(409, e.what());
  } catch (const registry::ThingDisabledError& e) {
    throw Refusal(403, e.what());
  }
  return Outcome{base64_response(kCertsOnly, crypto::pkcs7_certs_only({cert})), thing_name,
                 cert.serial_hex(), attempt.event.actor};
}

void EstService::audit_refusal(const Attempt& attempt, const std::string& reason) const {
  auto event = attempt.event;
  event.result = "refused";
  event.reason = common::printable(reason);
  event.actor = common::printable(event.actor);
  event.thing_name = common::printable(event.thing_name);
  try {
    store_.append_audit(event);
  } catch (const std::exception&) {
    // The refusal stands whether or not it could be logged; the response says why already.
  }
}

}  // namespace estfleet::est
