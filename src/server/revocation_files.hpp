// A data folder's revocation state on disk: the delegated OCSP responder's certificate and key,
// and the CRL files brokers read. Shared by `init`, `serve` and the admin commands that revoke.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "ca/authority.hpp"
#include "ca/crl.hpp"
#include "ca/ocsp_responder.hpp"
#include "registry/store.hpp"
#include "server/config.hpp"

namespace estfleet::server {

inline constexpr const char* kOcspCertificateFile = "ca/ocsp.pem";
inline constexpr const char* kOcspKeyFile = "ca/ocsp.key";
inline constexpr const char* kCrlDerFile = "crl/crl.der";
inline constexpr const char* kCrlPemFile = "crl/crl.pem";
// The previous CA's CRL during a CA rollover's transition (removed when it ends).
inline constexpr const char* kPreviousCrlDerFile = "crl/previous.der";
inline constexpr const char* kPreviousCrlPemFile = "crl/previous.pem";
// A responder certificate lives this long and is replaced when less than a third is left.
inline constexpr std::chrono::seconds kOcspResponderValidity{std::chrono::hours(24 * 90)};

ca::RevocationPolicy revocation_policy(const Config& config);
ca::CrlSettings crl_settings(const Config& config);
ca::OcspSettings ocsp_settings(const Config& config);

struct ResponderFiles {
  ca::ResponderIdentity identity;
  bool created = false;  // false: the existing files were good
};

// Loads <data>/ca/ocsp.pem and ocsp.key, or issues a new responder (EC P-256 key written 0600)
// when they are missing, unreadable, not this CA's, or within the last third of their life.
// Throws std::runtime_error naming the file that cannot be written.
ResponderFiles ensure_ocsp_responder(const std::filesystem::path& data_dir,
                                     const ca::Authority& authority, crypto::TimePoint now);

// When a responder should be replaced: two thirds into its validity.
crypto::TimePoint responder_renewal_time(const ca::ResponderIdentity& identity);

// Writes the CRL to <data>/crl/crl.der and crl.pem (0644), each atomically (write, fsync,
// rename), so a broker never reads a torn file. With `previous_pem` (a CA rollover's
// transition), crl.pem holds both CRLs, the current CA's first, so a broker that checks every
// client certificate against crl.pem finds one for each CA; crl/previous.der and previous.pem
// hold the previous CA's alone. Without it, those two are removed.
void write_crl_files(const std::filesystem::path& data_dir, const registry::PublishedCrl& crl,
                     const std::optional<std::string>& previous_pem = std::nullopt);

// Issues a CRL from the registry and writes the published one to the data folder (and, during a
// CA rollover's transition, the previous CA's). This is what the admin commands that revoke run,
// so the files are fresh whether or not `serve` is running.
ca::IssuedCrl refresh_crl(const Config& config, const ca::Authority& authority,
                          registry::Store& store, crypto::TimePoint now);

// The same for an admin command: loads the issuing CA from the config first.
ca::IssuedCrl refresh_crl(const Config& config, registry::Store& store);

}  // namespace estfleet::server
