// est-bench: command-line parsing and wiring only; the load generator and the crypto floor are in
// bench/estbench/.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "common/files.hpp"
#include "crypto/key.hpp"
#include "estbench/run.hpp"

namespace {

using namespace estfleet;

// The password file without its trailing line ending(s), as `est-server user add` reads it.
std::string read_password(const std::string& path) {
  auto text = common::read_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"est-bench: load generator for an EST server, with the crypto floor to compare to"};
  std::string server;
  std::string ca_file;
  std::string user;
  std::string password_file;
  std::string mode = "enroll";
  unsigned connections = 1;
  std::size_t requests = 1;
  bool new_connection = false;
  bool keepalive = false;
  bool device = false;
  bool nagle = false;
  std::string key_type = "ec-p256";
  int server_pid = 0;
  unsigned threads = 0;
  unsigned idle = 0;
  bool json = false;
  app.add_option("--server", server, "EST server URL, e.g. https://localhost:8443")->required();
  app.add_option("--ca-file", ca_file, "trust anchor PEM (the server's root)")->required();
  auto* user_option = app.add_option("--user", user, "HTTP Basic user for enrollment");
  auto* password_option =
      app.add_option("--password-file", password_file, "file holding the Basic password")
          ->needs(user_option);
  user_option->needs(password_option);
  app.add_option("--mode", mode, "enroll, reenroll or cacerts")
      ->required()
      ->check(CLI::IsMember({"enroll", "reenroll", "cacerts"}));
  app.add_option("--connections", connections, "concurrent connections")
      ->required()
      ->check(CLI::Range(1U, 100'000U));
  app.add_option("--requests", requests, "timed requests in all")
      ->required()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  auto* new_flag = app.add_flag("--new-connection", new_connection,
                                "a new TCP and TLS connection for every request");
  auto* keepalive_flag =
      app.add_flag("--keepalive", keepalive, "reuse connections (default except for reenroll)")
          ->excludes(new_flag);
  app.add_option("--key-type", key_type, "device key type (ec-p256, rsa-2048, ed25519, ...)");
  app.add_option("--server-pid", server_pid, "report the server's CPU time per request");
  auto* threads_option =
      app.add_option("--threads", threads, "client io threads (default: one per core)");
  auto* idle_option =
      app.add_option("--idle", idle,
                     "open N more connections (handshake + one cacerts request) before the timed "
                     "phase and hold them idle through it")
          ->check(CLI::Range(0U, 100'000U));
  auto* device_flag =
      app.add_flag("--device", device,
                   "time a device-like client instead: one blocking thread per connection, plain "
                   "OpenSSL, a new connection per request with Connection: close, no session "
                   "resumption, TCP_NODELAY as curl and Go set it")
          ->excludes(new_flag, keepalive_flag, threads_option, idle_option);
  app.add_flag("--nagle", nagle,
               "with --device: leave Nagle on (no TCP_NODELAY), as libest and clients written "
               "on OpenSSL's examples do")
      ->needs(device_flag);
  app.add_flag("--json", json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  bench::BenchOptions options;
  options.server_url = server;
  options.mode = *bench::parse_mode(mode);
  options.connections = connections;
  options.requests = requests;
  if (new_connection || keepalive) {
    options.new_connection = new_connection;
  }
  options.device = device;
  options.device_nagle = nagle;
  const auto type = crypto::parse_key_type(key_type);
  if (!type) {
    std::cerr << "est-bench: --key-type " << key_type << " is not one of ec-p256, ec-p384, "
              << "rsa-2048, rsa-3072, rsa-4096, ed25519\n";
    return 2;
  }
  options.key_type = *type;
  if (server_pid > 0) {
    options.server_pid = server_pid;
  }
  options.threads = threads;
  options.idle_connections = idle;
  try {
    options.trust_anchors_pem = common::read_file(ca_file);
    if (!user.empty()) {
      options.user = user;
      options.password = read_password(password_file);
    }
    const auto report = bench::run_benchmark(options, std::cerr);
    std::cout << (json ? bench::to_json(report) + "\n" : bench::to_text(report));
    return report.succeeded > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  } catch (const std::invalid_argument& e) {
    std::cerr << "est-bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "est-bench: " << e.what() << "\n";
    return EXIT_FAILURE;
  }
}
