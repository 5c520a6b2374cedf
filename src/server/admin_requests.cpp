#include "server/admin_requests.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/admin_certs.hpp"
#include "server/registry_access.hpp"
#include "server/text_table.hpp"

namespace estfleet::server {
namespace {

// Enough to tell keys apart at a glance; --json carries the whole digest.
constexpr std::size_t kShownKeyDigits = 16;

nlohmann::json request_json(const registry::EnrollmentRequest& request) {
  return {
      {"id", request.id},
      {"thing", request.thing_name},
      {"profile", profile_name(request.profile)},
      {"status", registry::to_string(request.status)},
      {"public_key_sha256", request.public_key_sha256},
      {"content_sha256", request.content_sha256.empty() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(request.content_sha256)},
      {"requested_by", request.requested_by},
      {"source_address", request.source_address},
      {"requested_at", iso_time(request.requested_at)},
      {"decided_by",
       request.decided_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(request.decided_by)},
      {"decided_at", request.decided_at ? nlohmann::json(iso_time(*request.decided_at))
                                        : nlohmann::json(nullptr)}};
}

}  // namespace

std::string list_requests(const std::filesystem::path& data_dir, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto requests = session.store->list_requests(std::nullopt);
  if (json) {
    auto array = nlohmann::json::array();
    for (const auto& request : requests) {
      array.push_back(request_json(request));
    }
    return array.dump(2) + "\n";
  }
  std::vector<TableRow> rows;
  rows.reserve(requests.size());
  for (const auto& request : requests) {
    rows.push_back({std::to_string(request.id), request.thing_name, profile_name(request.profile),
                    std::string(registry::to_string(request.status)),
                    request.public_key_sha256.substr(0, kShownKeyDigits),
                    request.content_sha256.empty()
                        ? std::string("-")
                        : request.content_sha256.substr(0, kShownKeyDigits),
                    request.requested_by, request.source_address, iso_time(request.requested_at)});
  }
  return render_table({"ID", "THING", "PROFILE", "STATUS", "KEY_SHA256", "CONTENT_SHA256",
                       "REQUESTED_BY", "FROM", "REQUESTED"},
                      rows);
}

std::string decide_request(const std::filesystem::path& data_dir, const std::string& thing_name,
                           bool approve, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto decided = [&] {
    try {
      return session.store->decide_request(
          thing_name, approve, "operator", unix_now(),
          operator_audit(approve ? "request-approve" : "request-reject", thing_name, {}, {}));
    } catch (const registry::NotFoundError& e) {
      throw std::runtime_error(e.what());
    }
  }();
  if (json) {
    return request_json(decided).dump(2) + "\n";
  }
  const std::string key = decided.public_key_sha256.substr(0, kShownKeyDigits);
  if (approve) {
    return "approved enrollment request " + std::to_string(decided.id) + " of " + thing_name +
           " (key " + key + "); the device gets its certificate when it retries\n";
  }
  return "rejected enrollment request " + std::to_string(decided.id) + " of " + thing_name +
         " (key " + key + "); its retries are refused with 403\n";
}

}  // namespace estfleet::server
