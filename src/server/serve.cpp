#include "server/serve.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ca/authority.hpp"
#include "common/files.hpp"
#include "est/service.hpp"
#include "http/server.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/config.hpp"
#include "server/revocation_service.hpp"

namespace estfleet::server {
namespace {

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

// Routes /crl and /ocsp to the revocation service and the rest to EST, with the access log: one
// line per request. A renewal supersedes a certificate, which the CRL must come to show.
http::Handler logged(const est::EstService& service, RevocationService& revocation) {
  return [&service, &revocation](const http::Request& request, const http::TlsPeer& peer) {
    const auto started = std::chrono::steady_clock::now();
    est::Outcome outcome;
    if (RevocationService::serves(request.target)) {
      outcome.response = revocation.handle(request);
    } else {
      outcome = service.handle(request, peer);
      if (outcome.response.status == 200 && path_of(request.target).ends_with("/simplereenroll")) {
        revocation.revocation_changed();
      }
    }
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    const int status = outcome.response.status;
    const auto level = status >= 500   ? spdlog::level::err
                       : status >= 400 ? spdlog::level::warn
                                       : spdlog::level::info;
    spdlog::log(level, "{} {} {} thing={} serial={} by={} from={} {:.1f}ms{}{}", request.method,
                path_of(request.target), status,
                outcome.thing_name.empty() ? "-" : outcome.thing_name,
                outcome.serial.empty() ? "-" : outcome.serial,
                outcome.principal.empty() ? "-" : outcome.principal, peer.remote_address,
                static_cast<double>(micros) / 1000.0, status >= 400 ? ": " : "",
                status >= 400 ? outcome.response.body.substr(0, outcome.response.body.find('\n'))
                              : std::string());
    return std::move(outcome.response);
  };
}

}  // namespace

void serve(const ServeOptions& options) {
  auto config = load_config(options.data_dir);
  if (options.listen) {
    apply_listen_address(*options.listen, config.http);
  }
  const auto authority = ca::Authority::load(config.ca_key, config.ca_chain);
  auto store = registry::SqliteStore::open(config.database_path.string());
  const est::Clock clock =
      options.clock ? options.clock : [] { return std::chrono::system_clock::now(); };
  const est::EstService service(authority, *store, build_profiles(config), clock);
  RevocationService revocation(config, authority, *store, clock);

  http::Server server(config.http, logged(service, revocation));
  revocation.start();
  spdlog::info("est-server listening on https://{}:{} (data {}, {} profile(s))",
               config.http.listen_host.find(':') != std::string::npos
                   ? "[" + config.http.listen_host + "]"
                   : config.http.listen_host,
               server.port(), options.data_dir.string(), config.profiles.size());
  if (options.port_file) {
    common::write_file_atomically(
        *options.port_file, std::to_string(server.port()) + "\n",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
            std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  }
  server.run();
  spdlog::info("est-server stopped");
}

}  // namespace estfleet::server
