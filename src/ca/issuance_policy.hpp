#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace estfleet::ca {

// How certificates of one enrollment profile are shaped (the signing itself is the
// Authority's business).
struct IssuancePolicy {
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  // notBefore is set this far in the past so devices with a slow clock accept the certificate.
  std::chrono::seconds backdate{std::chrono::minutes(5)};
  // subjectAltName entry kinds a CSR may carry: "dns", "ip", "uri", "email". Others are refused.
  std::set<std::string> allowed_san_kinds{"dns", "ip", "uri"};
  // Where relying parties find this CA's CRL and OCSP responder; written into every issued
  // certificate (cRLDistributionPoints, authorityInfoAccess) when set.
  std::optional<std::string> crl_distribution_point;
  std::optional<std::string> ocsp_url;
};

// nullopt when every entry of the SAN extension value (DER GeneralNames) has an allowed kind,
// else one sentence naming the offending entry.
std::optional<std::string> refuse_subject_alt_name(const std::string& san_der,
                                                   const IssuancePolicy& policy);

}  // namespace estfleet::ca
