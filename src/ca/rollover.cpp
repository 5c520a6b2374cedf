#include "ca/rollover.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <stdexcept>

#include "ca/serial.hpp"

namespace estfleet::ca {

std::string next_generation_name(const std::string& common_name) {
  const auto space = common_name.rfind(' ');
  if (space != std::string::npos && common_name.compare(space + 1, 1, "G") == 0) {
    const std::string digits = common_name.substr(space + 2);
    if (!digits.empty() && digits.size() < 9 &&
        digits.find_first_not_of("0123456789") == std::string::npos) {
      return common_name.substr(0, space) + " G" + std::to_string(std::stoi(digits) + 1);
    }
  }
  return common_name + " G2";
}

bool same_public_key(const crypto::Certificate& a, const crypto::Certificate& b) {
  return EVP_PKEY_eq(a.public_key(), b.public_key()) == 1;
}

bool is_self_signed(const crypto::Certificate& cert) {
  return cert.subject_der() == cert.issuer_der() &&
         X509_verify(cert.get(), X509_get0_pubkey(cert.get())) == 1;
}

crypto::Certificate build_link(const crypto::Certificate& subject,
                               const crypto::Certificate& signer, const EVP_PKEY* signer_key,
                               crypto::TimePoint not_before, crypto::TimePoint not_after) {
  crypto::CertificateSpec spec;
  spec.serial = random_serial();
  spec.subject_der = subject.subject_der();
  spec.public_key = subject.public_key();
  spec.public_key_info = X509_get_X509_PUBKEY(subject.get());
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.is_ca = true;
  spec.key_usage = {"keyCertSign", "cRLSign"};
  return crypto::sign_certificate(spec, &signer, signer_key);
}

std::optional<std::string> verify_link(const crypto::Certificate& link,
                                       const crypto::Certificate& linked_root,
                                       const crypto::Certificate& trusted_root,
                                       crypto::TimePoint at) {
  if (link.subject_der() != linked_root.subject_der()) {
    return "the link certificate names " + link.subject_text() + ", not the root " +
           linked_root.subject_text();
  }
  if (!same_public_key(link, linked_root)) {
    return "the link certificate for " + linked_root.subject_text() +
           " carries another public key than that root";
  }
  if (!link.is_ca()) {
    return std::string("the link certificate is not a CA certificate");
  }
  if (const auto problem = crypto::TrustStore({trusted_root}).verify(link, {}, at)) {
    return "the link certificate does not verify with " + trusted_root.subject_text() + ": " +
           *problem;
  }
  return std::nullopt;
}

RolledCa roll_over(const OutgoingCa& outgoing, const RolloverOptions& options,
                   crypto::TimePoint now) {
  if (!outgoing.root.matches_private_key(outgoing.root_key)) {
    throw std::invalid_argument("the root key does not match the root certificate");
  }
  if (!is_self_signed(outgoing.root)) {
    throw std::invalid_argument("the root certificate is not self-signed");
  }
  if (outgoing.issuing.issuer_der() != outgoing.root.subject_der() ||
      X509_verify(outgoing.issuing.get(), outgoing.root.public_key()) != 1) {
    throw std::invalid_argument("the issuing CA was not issued by the root");
  }
  if (outgoing.issuing.not_after() <= now) {
    throw std::invalid_argument(
        "the issuing CA " + outgoing.issuing.subject_text() +
        " has already expired, so there is no transition to bridge; start a new CA instead "
        "(est-server init --force)");
  }
  if (options.root_validity.count() <= 0 || options.issuing_validity.count() <= 0) {
    throw std::invalid_argument("a CA validity must be positive");
  }
  NewCaOptions next_options;
  next_options.root_common_name = next_generation_name(outgoing.root.subject_common_name());
  next_options.issuing_common_name = next_generation_name(outgoing.issuing.subject_common_name());
  next_options.root_key_type = options.root_key_type;
  next_options.issuing_key_type = options.issuing_key_type;
  next_options.root_validity = options.root_validity;
  next_options.issuing_validity = options.issuing_validity;
  auto next = create_ca(next_options, now);

  // Both links last as long as the transition: until nothing the old CA issued is valid.
  const auto transition_end = outgoing.issuing.not_after();
  const auto link_start = now - std::chrono::hours(1);
  const auto link_end =
      std::min({transition_end, next.root.not_after(), outgoing.root.not_after()});
  auto new_with_old = build_link(next.root, outgoing.root, outgoing.root_key, link_start, link_end);
  auto old_with_new =
      build_link(outgoing.root, next.root, next.root_key.get(), link_start, link_end);
  if (const auto problem = verify_link(new_with_old, next.root, outgoing.root, now)) {
    throw std::invalid_argument("NewWithOld: " + *problem);
  }
  if (const auto problem = verify_link(old_with_new, outgoing.root, next.root, now)) {
    throw std::invalid_argument("OldWithNew: " + *problem);
  }
  return RolledCa{std::move(next), std::move(old_with_new), std::move(new_with_old),
                  transition_end};
}

}  // namespace estfleet::ca
