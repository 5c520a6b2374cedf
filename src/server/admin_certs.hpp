// `est-server certs list|revoke`: the registry's certificates as operators see them.
#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "registry/store.hpp"
#include "server/registry_access.hpp"
#include "server/text_table.hpp"

namespace estfleet::server {

// Newest first; empty thing_name: all. A table (SERIAL THING STATUS NOT_AFTER PROFILE) or, with
// `json`, an array of objects.
std::string list_certificates(const std::filesystem::path& data_dir, const std::string& thing_name,
                              bool json);

// Revokes SERIAL (any case) with an RFC 5280 reason. Revoking a revoked certificate changes
// nothing and says so. Throws std::runtime_error for an unknown serial or reason.
std::string revoke_certificate(const std::filesystem::path& data_dir, const std::string& serial,
                               const std::string& reason, bool json);

// Issues and writes a new CRL after an admin command revoked something; returns its number.
// Throws std::runtime_error saying the revocation stands but the CRL is stale.
std::int64_t publish_crl_after_revocation(const AdminSession& session, const std::string& what);

// Shared with `things show`.
TableRow certificate_header();
TableRow certificate_row(const registry::CertificateRecord& record);
nlohmann::json certificate_json(const registry::CertificateRecord& record);
// The status an operator reads: the registry's, except "expired" for an active certificate past
// its notAfter.
std::string display_status(const registry::CertificateRecord& record, registry::UnixSeconds now);
// "default" for the unlabelled profile, as the config file names it.
std::string profile_name(const std::string& label);

}  // namespace estfleet::server
