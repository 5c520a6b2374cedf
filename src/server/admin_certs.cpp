#include "server/admin_certs.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/broker_setup.hpp"
#include "server/registry_access.hpp"
#include "server/revocation_files.hpp"
#include "server/revocation_reason.hpp"

namespace estfleet::server {

std::int64_t publish_crl_after_revocation(const AdminSession& session, const std::string& what) {
  registry::PublishedCrl published;
  std::int64_t number = 0;
  try {
    auto issued = refresh_crl(session.config, *session.store);
    published = std::move(issued.published);
    number = issued.number;
  } catch (const std::exception& e) {
    throw std::runtime_error(what +
                             " in the registry (OCSP answers so already), but the CRL "
                             "could not be refreshed: " +
                             e.what());
  }
  // The broker's copy too, and a reload, whether or not `serve` runs (its broker thread would
  // deliver it within a second, but an admin command must not depend on it). The thing's dynsec
  // state stays pending in the registry for serve or `broker sync`.
  if (session.config.broker) {
    const auto delivery = deliver_crl_to_broker(*session.config.broker, published.pem);
    if (!delivery.ok) {
      throw std::runtime_error(what + " and CRL " + std::to_string(number) + " is published, but " +
                               delivery.message);
    }
  }
  return number;
}

std::string profile_name(const std::string& label) {
  return label.empty() ? "default" : label;
}

TableRow certificate_header() {
  return {"SERIAL", "THING", "STATUS", "NOT_AFTER", "PROFILE"};
}

bool is_expired(const registry::CertificateRecord& record, registry::UnixSeconds now) {
  return record.not_after < now;
}

std::string display_status(const registry::CertificateRecord& record, registry::UnixSeconds now) {
  // An active certificate past notAfter no longer works and cannot be renewed; its device
  // enrolls again (docs/lifecycle.md). The registry keeps it active until then.
  if (record.status == registry::CertificateStatus::active && is_expired(record, now)) {
    return "expired";
  }
  return std::string(registry::to_string(record.status));
}

TableRow certificate_row(const registry::CertificateRecord& record) {
  return {record.serial, record.thing_name, display_status(record, unix_now()),
          iso_time(record.not_after), profile_name(record.profile)};
}

nlohmann::json certificate_json(const registry::CertificateRecord& record) {
  nlohmann::json json{
      {"serial", record.serial},
      {"thing", record.thing_name},
      {"status", registry::to_string(record.status)},
      {"subject", record.subject},
      {"profile", profile_name(record.profile)},
      {"not_before", iso_time(record.not_before)},
      {"not_after", iso_time(record.not_after)},
      {"expired", is_expired(record, unix_now())},
      {"issued_at", iso_time(record.issued_at)},
      {"sha256_fingerprint", record.sha256_fingerprint},
      {"policy_version", record.policy_version},
      {"replaces", record.replaces ? nlohmann::json(*record.replaces) : nullptr},
      {"revoked_at", record.revoked_at ? nlohmann::json(iso_time(*record.revoked_at)) : nullptr},
      {"revocation_reason", record.revocation_reason.empty()
                                ? nlohmann::json(nullptr)
                                : nlohmann::json(record.revocation_reason)}};
  return json;
}

std::string list_certificates(const std::filesystem::path& data_dir, const std::string& thing_name,
                              bool json) {
  const auto session = open_admin_session(data_dir);
  const auto records = session.store->list_certificates(thing_name);
  if (json) {
    auto array = nlohmann::json::array();
    for (const auto& record : records) {
      array.push_back(certificate_json(record));
    }
    return array.dump(2) + "\n";
  }
  std::vector<TableRow> rows;
  std::transform(records.begin(), records.end(), std::back_inserter(rows), certificate_row);
  return render_table(certificate_header(), rows);
}

std::string revoke_certificate(const std::filesystem::path& data_dir, const std::string& serial,
                               const std::string& reason, bool json) {
  check_revocation_reason(reason);
  std::string upper = serial;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto session = open_admin_session(data_dir);
  const auto before = session.store->find_certificate(upper);
  if (!before) {
    throw std::runtime_error("no certificate with serial " + upper + " is registered");
  }
  const bool already = before->status == registry::CertificateStatus::revoked;
  std::optional<std::int64_t> crl_number;
  if (!already) {
    session.store->revoke_certificate(upper, reason, unix_now(),
                                      operator_audit("revoke", before->thing_name, upper, reason));
    crl_number = publish_crl_after_revocation(session, "certificate " + upper + " is revoked");
  }
  const auto after = session.store->find_certificate(upper);
  if (json) {
    auto object = certificate_json(*after);
    object["already_revoked"] = already;
    object["crl_number"] = crl_number ? nlohmann::json(*crl_number) : nlohmann::json(nullptr);
    return object.dump(2) + "\n";
  }
  if (already) {
    return "certificate " + upper + " of " + after->thing_name + " was already revoked (" +
           after->revocation_reason + ") at " + iso_time(after->revoked_at.value_or(0)) + "\n";
  }
  return "revoked certificate " + upper + " of " + after->thing_name + " (" + reason + "); CRL " +
         std::to_string(*crl_number) + " published\n";
}

}  // namespace estfleet::server
