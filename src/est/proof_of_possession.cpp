#include "est/proof_of_possession.hpp"

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {

void check_proof_of_possession(const crypto::CertificateRequest& csr, const http::TlsPeer& peer,
                               bool required) {
  const auto password = csr.challenge_password();
  if (!password) {
    if (required) {
      throw Refusal(400,
                    "this profile requires proof of possession: put base64 of the TLS channel "
                    "binding (tls-unique or tls-exporter) in the CSR's challengePassword");
    }
    return;
  }
  if (peer.channel_binding.empty()) {
    throw Refusal(403,
                  peer.no_channel_binding_reason.empty()
                      ? "the TLS connection has no channel binding to check the CSR's "
                        "challengePassword against"
                      : "proof of possession cannot be checked: " + peer.no_channel_binding_reason);
  }
  const std::string expected = crypto::base64_encode(peer.channel_binding);
  if (!crypto::constant_time_equal(*password, expected)) {
    throw Refusal(403,
                  "the CSR's challengePassword does not match this TLS connection's channel "
                  "binding (proof of possession failed)");
  }
}

}  // namespace estfleet::est
