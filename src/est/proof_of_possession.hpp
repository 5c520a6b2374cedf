#pragma once

#include "crypto/csr.hpp"
#include "http/message.hpp"

namespace estfleet::est {

// RFC 7030 §3.5: a challengePassword in the CSR must hold base64 of this TLS connection's
// channel binding, which proves the CSR was made for this very connection (not replayed from
// another). Verified whenever present, at full length and in constant time; required when
// `required`. Throws Refusal (400 when missing, 403 when it does not match).
void check_proof_of_possession(const crypto::CertificateRequest& csr, const http::TlsPeer& peer,
                               bool required);

}  // namespace estfleet::est
