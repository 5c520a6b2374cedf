// Records to fill a registry with in tests, the same for every Store implementation.
#pragma once

#include <string>

#include "registry/store.hpp"

namespace estfleet::registry::testing {

inline CertificateRecord make_cert(const std::string& serial, const std::string& thing,
                                   UnixSeconds issued_at = 1'700'000'000) {
  CertificateRecord cert;
  cert.serial = serial;
  cert.thing_name = thing;
  cert.subject = "CN=" + thing;
  cert.profile = "factory";
  cert.not_before = issued_at - 60;
  cert.not_after = issued_at + 86'400;
  cert.issued_at = issued_at;
  cert.pem = "-----BEGIN CERTIFICATE-----\n" + serial + "\n-----END CERTIFICATE-----\n";
  cert.sha256_fingerprint = "fp-" + serial;
  return cert;
}

// No policy and no attributes: enough for tests about certificates alone.
inline ThingRegistration make_registration(const std::string& profile = "factory") {
  ThingRegistration registration;
  registration.profile = profile;
  return registration;
}

inline ThingRegistration make_registration_with_policy(const std::string& thing,
                                                       const std::string& document) {
  ThingRegistration registration = make_registration();
  registration.policy_name = thing;
  registration.policy_document = document;
  return registration;
}

inline AuditEvent make_audit(const std::string& operation, const std::string& thing,
                             const std::string& serial, UnixSeconds time = 1'700'000'000) {
  AuditEvent event;
  event.time = time;
  event.actor = "CN=bootstrap";
  event.source_address = "127.0.0.1";
  event.operation = operation;
  event.profile = "factory";
  event.thing_name = thing;
  event.serial = serial;
  event.result = "ok";
  return event;
}

inline CertificateRecord make_renewal(const std::string& serial, const std::string& thing,
                                      const std::string& replaces,
                                      UnixSeconds issued_at = 1'700'000'100) {
  CertificateRecord cert = make_cert(serial, thing, issued_at);
  cert.replaces = replaces;
  return cert;
}

}  // namespace estfleet::registry::testing
