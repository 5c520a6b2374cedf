// What provision and renew write into a device's folder: the modes of its files and the PEM text
// of its certificate chain and trust anchors, the same whichever command wrote them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "client/est_client.hpp"
#include "crypto/certificate.hpp"

namespace estfleet::client {

// private_key.pem and the pending keys: the owner alone may read them.
inline constexpr auto kSecretFileMode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
// certificate.pem and root_ca.pem.
inline constexpr auto kPublicFileMode =
    kSecretFileMode | std::filesystem::perms::group_read | std::filesystem::perms::others_read;

// certificate.pem: the device certificate followed by the issuing CAs the server sent (never a
// self-signed root), so that a device can show its whole chain to a broker that trusts only the
// root.
std::string certificate_chain_pem(const Issued& issued);

}  // namespace estfleet::client
