// What provision and renew write into a device's folder: the PEM text of its certificate chain,
// the same whichever command wrote it (the files' modes are common::kSecretFileMode and
// kPublicFileMode).
#pragma once

#include <string>
#include <vector>

#include "client/est_client.hpp"
#include "crypto/certificate.hpp"

namespace estfleet::client {

// certificate.pem: the device certificate followed by the issuing CAs the server sent (never a
// self-signed root), so that a device can show its whole chain to a broker that trusts only the
// root.
std::string certificate_chain_pem(const Issued& issued);

}  // namespace estfleet::client
