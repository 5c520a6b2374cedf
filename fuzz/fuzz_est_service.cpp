// The whole EST request handler as a pure function (est::EstService::handle): method, target,
// headers, body and the peer's TLS facts in, one response out, against a real CA and a SQLite
// registry (in /dev/shm when there is one, so fsync costs nothing). The input is text:
//
//   METHOD TARGET\n            e.g. "POST /.well-known/est/simpleenroll"
//   Name: value\n ...          headers; two pseudo-headers set the TLS facts instead:
//                              X-Fuzz-Tls: 12 | 13 (the TLS version; default 13),
//                              X-Fuzz-Peer-Cert: base64 DER of a presented client certificate
//   \n
//   body
//
// Profiles: default (Basic user "factory" and a fleet secret), "pop" (PoP required), "idevid"
// (TLS client certificates from a manufacturer CA), "manual" (approval). handle() promises never to
// throw, and every answer must be a status with a body; anything else aborts.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ca/bootstrap.hpp"
#include "crypto/encoding.hpp"
#include "crypto/password_hash.hpp"
#include "est/service.hpp"
#include "registry/sqlite/sqlite_store.hpp"

using namespace estfleet;

namespace {

ca::Authority make_authority(crypto::TimePoint now) {
  auto fresh = ca::create_ca(ca::NewCaOptions{}, now);
  return ca::Authority(std::move(fresh.issuing_key), {fresh.issuing, fresh.root});
}

std::filesystem::path make_temp_folder() {
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string pattern = std::string(base) + "/est-fuzz-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

struct Fixture {
  Fixture()
      : now(std::chrono::system_clock::now()),
        folder(make_temp_folder()),
        authority(make_authority(now)),
        manufacturer(make_authority(now)),
        store(registry::SqliteStore::open((folder / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    // Cheap scrypt parameters: the fuzzer should spend its time in the parsers.
    store->put_user(registry::User{"factory", crypto::hash_password("secret", {10, 8, 1}), 0},
                    audit, false);
    est::EnrollmentProfile by_password;
    by_password.fleet_secret = "fleet secret for fuzzing";
    est::EnrollmentProfile with_pop;
    with_pop.label = "pop";
    with_pop.require_pop = true;
    est::EnrollmentProfile by_device_cert;
    by_device_cert.label = "idevid";
    by_device_cert.auth_methods = {est::AuthMethod::tls_client};
    by_device_cert.bootstrap_trust =
        std::make_shared<const crypto::TrustStore>(std::vector{manufacturer.root()});
    est::EnrollmentProfile manual;
    manual.label = "manual";
    manual.approval = est::Approval::manual;
    service = std::make_unique<est::EstService>(
        authority, *store, std::vector{by_password, with_pop, by_device_cert, manual},
        [this] { return now; });
  }
  ~Fixture() {
    service.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  crypto::TimePoint now;
  std::filesystem::path folder;
  ca::Authority authority;
  ca::Authority manufacturer;
  std::unique_ptr<registry::SqliteStore> store;
  std::unique_ptr<est::EstService> service;
};

std::string_view next_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  std::string_view rest(reinterpret_cast<const char*>(data), size);

  http::Request request;
  const std::string_view request_line = next_line(rest);
  const auto space = request_line.find(' ');
  request.method = std::string(request_line.substr(0, space));
  request.target =
      space == std::string_view::npos ? std::string{} : std::string(request_line.substr(space + 1));

  http::TlsPeer peer;
  peer.remote_address = "192.0.2.1";
  peer.tls_version = 0x0304;
  peer.channel_binding = std::string(32, '\x42');
  for (std::string_view line = next_line(rest); !line.empty(); line = next_line(rest)) {
    const auto colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    if (name == "X-Fuzz-Tls") {
      peer.tls_version = value == "12" ? 0x0303 : 0x0304;
      peer.channel_binding = std::string(value == "12" ? 12 : 32, '\x42');
    } else if (name == "X-Fuzz-Peer-Cert") {
      if (auto der = crypto::base64_decode(value)) {
        peer.peer_chain_der.push_back(std::move(*der));
      }
    } else {
      request.headers.emplace_back(std::string(name), std::string(value));
    }
  }
  request.body = std::string(rest);

  const auto outcome = fixture.service->handle(request, peer);
  const int status = outcome.response.status;
  if (status < 200 || status > 599 || (status >= 400 && outcome.response.body.empty())) {
    std::fprintf(stderr, "handle() answered status %d with a %zu-byte body\n", status,
                 outcome.response.body.size());
    std::abort();
  }
  return 0;
}
