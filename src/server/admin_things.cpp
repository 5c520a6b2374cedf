#include "server/admin_things.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/admin_certs.hpp"
#include "server/registry_access.hpp"
#include "server/revocation_reason.hpp"
#include "server/text_table.hpp"

namespace estfleet::server {
namespace {

std::string policy_label(const registry::Thing& thing) {
  return thing.policy_name.empty()
             ? "-"
             : thing.policy_name + " v" + std::to_string(thing.policy_version);
}

std::string attributes_text(const registry::Thing& thing) {
  std::string text;
  for (const auto& [key, value] : thing.attributes) {
    text += (text.empty() ? "" : ",") + key + "=" + value;
  }
  return text.empty() ? "-" : text;
}

nlohmann::json thing_json(const registry::Thing& thing) {
  return {{"name", thing.name},
          {"status", registry::to_string(thing.status)},
          {"profile", profile_name(thing.profile)},
          {"attributes", thing.attributes},
          {"policy_name",
           thing.policy_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(thing.policy_name)},
          {"policy_version", thing.policy_version},
          {"created_at", iso_time(thing.created_at)},
          {"updated_at", iso_time(thing.updated_at)}};
}

// The thing's current certificate as an operator reads it: "valid until …", "expired …" (its
// device must enroll again), or "-" when it holds none.
std::string certificate_summary(const std::optional<registry::CertificateRecord>& active,
                                registry::UnixSeconds now) {
  if (!active) {
    return "-";
  }
  return (display_status(*active, now) == "expired" ? "expired " : "valid until ") +
         iso_time(active->not_after);
}

nlohmann::json certificate_summary_json(const std::optional<registry::CertificateRecord>& active,
                                        registry::UnixSeconds now) {
  if (!active) {
    return nullptr;
  }
  return {{"serial", active->serial},
          {"status", display_status(*active, now)},
          {"not_after", iso_time(active->not_after)}};
}

registry::Thing existing_thing(registry::Store& store, const std::string& name) {
  auto thing = store.find_thing(name);
  if (!thing) {
    throw std::runtime_error("no thing named " + name + " is registered");
  }
  return std::move(*thing);
}

}  // namespace

std::string list_things(const std::filesystem::path& data_dir, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto things = session.store->list_things();
  const auto now = unix_now();
  if (json) {
    auto array = nlohmann::json::array();
    for (const auto& thing : things) {
      auto object = thing_json(thing);
      object["certificate"] =
          certificate_summary_json(session.store->active_certificate(thing.name), now);
      array.push_back(std::move(object));
    }
    return array.dump(2) + "\n";
  }
  std::vector<TableRow> rows;
  rows.reserve(things.size());
  for (const auto& thing : things) {
    rows.push_back({thing.name, std::string(registry::to_string(thing.status)),
                    profile_name(thing.profile), policy_label(thing), attributes_text(thing),
                    certificate_summary(session.store->active_certificate(thing.name), now),
                    iso_time(thing.updated_at)});
  }
  return render_table(
      {"NAME", "STATUS", "PROFILE", "POLICY", "ATTRIBUTES", "CERTIFICATE", "UPDATED"}, rows);
}

std::string show_thing(const std::filesystem::path& data_dir, const std::string& name, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto thing = existing_thing(*session.store, name);
  const auto certificates = session.store->list_certificates(name);
  if (json) {
    auto object = thing_json(thing);
    object["certificates"] = nlohmann::json::array();
    for (const auto& record : certificates) {
      object["certificates"].push_back(certificate_json(record));
    }
    return object.dump(2) + "\n";
  }
  std::string text =
      render_table({"FIELD", "VALUE"}, {{"name", thing.name},
                                        {"status", std::string(registry::to_string(thing.status))},
                                        {"profile", profile_name(thing.profile)},
                                        {"policy", policy_label(thing)},
                                        {"attributes", attributes_text(thing)},
                                        {"created", iso_time(thing.created_at)},
                                        {"updated", iso_time(thing.updated_at)}});
  std::vector<TableRow> rows;
  rows.reserve(certificates.size());
  for (const auto& record : certificates) {
    rows.push_back(certificate_row(record));
  }
  return text + "\n" + render_table(certificate_header(), rows);
}

std::string disable_thing(const std::filesystem::path& data_dir, const std::string& name,
                          const std::string& reason, bool json) {
  check_revocation_reason(reason);
  const auto session = open_admin_session(data_dir);
  const auto before = existing_thing(*session.store, name);
  const auto revoked = session.store->disable_thing(
      name, reason, unix_now(), operator_audit("thing-disable", name, {}, reason));
  std::optional<std::int64_t> crl_number;
  if (!revoked.empty()) {
    crl_number = publish_crl_after_revocation(session, "thing " + name + " is disabled and its " +
                                                           std::to_string(revoked.size()) +
                                                           " certificate(s) revoked");
  }
  if (json) {
    return nlohmann::json{
               {"name", name},
               {"status", "disabled"},
               {"was_disabled", before.status == registry::ThingStatus::disabled},
               {"revoked", revoked},
               {"reason", reason},
               {"crl_number", crl_number ? nlohmann::json(*crl_number) : nlohmann::json(nullptr)}}
               .dump(2) +
           "\n";
  }
  if (before.status == registry::ThingStatus::disabled) {
    return "thing " + name + " was already disabled; nothing revoked\n";
  }
  std::string serials;
  for (const auto& serial : revoked) {
    serials += (serials.empty() ? ": " : ", ") + serial;
  }
  return "disabled thing " + name + "; revoked " + std::to_string(revoked.size()) +
         " certificate(s) (" + reason + ")" + serials +
         (crl_number ? "; CRL " + std::to_string(*crl_number) + " published" : std::string()) +
         "\n";
}

std::string enable_thing(const std::filesystem::path& data_dir, const std::string& name,
                         bool json) {
  const auto session = open_admin_session(data_dir);
  const auto before = existing_thing(*session.store, name);
  session.store->enable_thing(name, unix_now(), operator_audit("thing-enable", name, {}, {}));
  if (json) {
    return nlohmann::json{{"name", name},
                          {"status", "active"},
                          {"was_disabled", before.status == registry::ThingStatus::disabled}}
               .dump(2) +
           "\n";
  }
  if (before.status == registry::ThingStatus::active) {
    return "thing " + name + " is already enabled\n";
  }
  return "enabled thing " + name +
         "; its revoked certificates stay revoked, so the device enrolls afresh\n";
}

}  // namespace estfleet::server
