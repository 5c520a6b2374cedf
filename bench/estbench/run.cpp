#include "estbench/run.hpp"

#include <openssl/objects.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "crypto/encoding.hpp"
#include "crypto/pkcs7.hpp"
#include "estbench/device_load.hpp"
#include "estbench/load_generator.hpp"
#include "estbench/workload.hpp"
#include "http/client.hpp"

namespace estfleet::bench {
namespace {

constexpr const char* kPkcs10 = "application/pkcs10";

std::string est_target(const std::string& prefix, std::string_view operation) {
  return prefix + "/.well-known/est/" + std::string(operation);
}

// utime + stime of every thread of `pid`, in microseconds.
double process_cpu_us(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream file(path);
  std::string line;
  if (!std::getline(file, line)) {
    throw std::runtime_error("cannot read " + path);
  }
  // The command name may hold spaces and parentheses; the fields after it do not.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::vector<std::string> values{std::istream_iterator<std::string>(fields), {}};
  // Fields 14 (utime) and 15 (stime) of proc(5), counted from field 3 (state).
  constexpr std::size_t kUtime = 14 - 3;
  if (values.size() <= kUtime + 1) {
    throw std::runtime_error(path + " is shorter than expected");
  }
  const double ticks = std::stod(values[kUtime]) + std::stod(values[kUtime + 1]);
  return ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string first;
  std::string second;
  std::string third;
  file >> first >> second >> third;
  return first + " " + second + " " + third;
}

// VmRSS and VmHWM of `pid` in KiB (proc(5) status).
ServerMemory server_memory(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::ifstream file(path);
  ServerMemory memory;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") {
      memory.rss_kib = kib;
    } else if (key == "VmHWM:") {
      memory.hwm_kib = kib;
    }
  }
  if (memory.rss_kib == 0) {
    throw std::runtime_error("cannot read VmRSS from " + path);
  }
  return memory;
}

// Every idle connection holds a descriptor here; the soft limit is raised as far as the hard one
// allows, and a limit that cannot hold them all is refused before anything is opened.
void allow_descriptors(std::size_t needed) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= needed) {
    return;
  }
  if (limit.rlim_max < needed) {
    throw std::invalid_argument("--idle needs about " + std::to_string(needed) +
                                " file descriptors but the hard limit is " +
                                std::to_string(limit.rlim_max) + " (raise it with ulimit -n)");
  }
  limit.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::runtime_error("cannot raise the file descriptor limit to " + std::to_string(needed));
  }
}

std::string summarize_errors(const std::map<std::string, std::uint64_t>& errors) {
  std::string text;
  for (const auto& [kind, count] : errors) {
    text += (text.empty() ? "" : ", ") + kind + " x" + std::to_string(count);
  }
  return text;
}

// The issuing CA among the cacerts chain: the one that issued none of the others.
crypto::Certificate issuing_ca(const std::vector<crypto::Certificate>& chain) {
  for (const auto& candidate : chain) {
    const bool issued_another =
        std::any_of(chain.begin(), chain.end(), [&](const crypto::Certificate& other) {
          return other.get() != candidate.get() && other.issuer_der() == candidate.subject_der();
        });
    if (!issued_another) {
      return candidate;
    }
  }
  return chain.front();
}

std::vector<crypto::Certificate> certificates_of(const std::string& body) {
  const auto der = crypto::base64_decode(body);
  if (!der) {
    throw std::runtime_error("the server answered with a body that is not base64");
  }
  auto certs = crypto::parse_pkcs7_certs_only(*der);
  if (certs.empty()) {
    throw std::runtime_error("the server answered with an empty PKCS#7");
  }
  return certs;
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::enroll:
      return "enroll";
    case Mode::reenroll:
      return "reenroll";
    case Mode::cacerts:
      return "cacerts";
  }
  return "";
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view text) {
  for (const auto mode : {Mode::enroll, Mode::reenroll, Mode::cacerts}) {
    if (text == mode_name(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

Report run_benchmark(const BenchOptions& options, std::ostream& progress) {
  if (options.device && (options.new_connection || options.idle_connections > 0)) {
    throw std::invalid_argument(
        "--device opens a new connection for every request and holds none idle: it goes without "
        "--keepalive, --new-connection and --idle");
  }
  if (options.device_nagle && !options.device) {
    throw std::invalid_argument("--nagle is a choice of the --device client only");
  }
  const bool new_connection =
      options.device || options.new_connection.value_or(options.mode == Mode::reenroll);
  if (options.mode == Mode::reenroll && !new_connection) {
    throw std::invalid_argument(
        "reenroll needs --new-connection: a connection presents one client certificate, and "
        "once renewed it cannot be renewed again");
  }
  if (options.mode != Mode::cacerts && options.user.empty()) {
    throw std::invalid_argument("enroll and reenroll need --user and --password-file");
  }
  if (options.idle_connections > 0) {
    allow_descriptors(std::size_t{options.idle_connections} + options.connections + 256);
  }
  const auto url = http::parse_url(options.server_url);
  const Endpoint endpoint{url.host, url.port, options.trust_anchors_pem};
  const unsigned threads =
      options.threads != 0 ? options.threads : std::max(1U, std::thread::hardware_concurrency());
  const std::string authorization =
      options.user.empty()
          ? std::string()
          : "Basic " + crypto::base64_encode(options.user + ":" + options.password);

  // Untimed: what the server negotiates and which CA signs, for the floor.
  const Job cacerts{"GET", est_target(url.path_prefix, "cacerts"), "", "", "", nullptr};
  LoadPlan probe_plan;
  probe_plan.keep_bodies = true;
  const auto probe = run_load(endpoint, {cacerts}, probe_plan);
  if (probe.bodies.front().empty()) {
    throw std::runtime_error("cannot get cacerts from " + options.server_url + ": " +
                             summarize_errors(probe.errors));
  }
  const auto issuing = issuing_ca(certificates_of(probe.bodies.front()));
  const auto server_certificate = crypto::Certificate::from_der(probe.tls.server_certificate_der);

  std::vector<Job> jobs;
  std::vector<ClientIdentity> identities;
  const std::string run_id = random_run_id();
  if (options.mode == Mode::cacerts) {
    jobs.assign(options.requests, cacerts);
  } else {
    progress << "est-bench: making " << options.requests << " "
             << crypto::key_type_name(options.key_type) << " keys and CSRs (run " << run_id
             << ")\n";
    // One more than timed: the first, sent untimed, pays for the server's scrypt check of the
    // Basic password, which its credential cache then spares the others for five minutes.
    auto enrollees = make_enrollees(options.requests + 1, options.key_type, run_id, threads);
    const Job warm_up{"POST",        est_target(url.path_prefix, "simpleenroll"),
                      kPkcs10,       std::move(enrollees.back().body),
                      authorization, nullptr};
    enrollees.pop_back();
    const auto warmed = run_load(endpoint, {warm_up}, LoadPlan{});
    if (!warmed.errors.empty()) {
      throw std::runtime_error("the warm-up enrollment failed: " + summarize_errors(warmed.errors));
    }
    for (auto& enrollee : enrollees) {
      jobs.push_back(Job{"POST", est_target(url.path_prefix, "simpleenroll"), kPkcs10,
                         std::move(enrollee.body), authorization, nullptr});
    }
    if (options.mode == Mode::reenroll) {
      progress << "est-bench: enrolling them, untimed\n";
      LoadPlan setup;
      setup.connections = options.connections;
      setup.threads = threads;
      setup.keep_bodies = true;
      const auto enrolled = run_load(endpoint, jobs, setup);
      if (!enrolled.errors.empty()) {
        progress << "est-bench: " << summarize_errors(enrolled.errors)
                 << " of the untimed enrollments failed; renewing the others\n";
      }
      auto renewal_keys = make_keys(options.requests, options.key_type, threads);
      identities.reserve(options.requests);
      std::vector<std::string> bodies;
      for (std::size_t i = 0; i < enrolled.bodies.size(); ++i) {
        if (!enrolled.bodies[i].empty()) {
          identities.push_back(ClientIdentity{certificates_of(enrolled.bodies[i]).front(),
                                              std::move(enrollees[i].key)});
          bodies.push_back(renewal_body(identities.back().certificate, renewal_keys[i]));
        }
      }
      jobs.clear();
      for (std::size_t i = 0; i < identities.size(); ++i) {
        jobs.push_back(Job{"POST", est_target(url.path_prefix, "simplereenroll"), kPkcs10,
                           std::move(bodies[i]), "", &identities[i]});
      }
    }
  }

  progress << "est-bench: measuring the crypto floor\n";
  FloorInputs floor_inputs;
  floor_inputs.new_connection = new_connection;
  floor_inputs.enrollment = options.mode != Mode::cacerts;
  floor_inputs.client_certificate = options.mode == Mode::reenroll;
  floor_inputs.key_exchange_nid = probe.tls.group_nid;
  floor_inputs.server_tls_key = X509_get0_pubkey(server_certificate.get());
  floor_inputs.issuing_ca_key = X509_get0_pubkey(issuing.get());
  floor_inputs.device_key = options.key_type;

  Report report;
  report.floor = measure_crypto_floor(floor_inputs);

  double server_before = 0;
  double server_after = 0;
  double client_before = 0;
  double client_after = 0;
  LoadPlan plan;
  plan.connections = options.connections;
  plan.new_connection = new_connection;
  plan.threads = threads;
  const Job idle_request{"GET", est_target(url.path_prefix, "cacerts"), "", "", "", nullptr};
  if (options.idle_connections > 0) {
    plan.idle_connections = options.idle_connections;
    plan.idle_request = &idle_request;
    report.idle = IdleReport{};
    report.idle->requested = options.idle_connections;
    progress << "est-bench: opening " << options.idle_connections << " idle connections\n";
  }
  if (options.server_pid) {
    report.server_memory_start = server_memory(*options.server_pid);
  }
  plan.on_start = [&] {
    report.load_average = load_average();
    client_before = own_cpu_us();
    if (options.server_pid) {
      server_before = process_cpu_us(*options.server_pid);
      report.server_memory_before = server_memory(*options.server_pid);
    }
  };
  plan.on_finish = [&] {
    client_after = own_cpu_us();
    if (options.server_pid) {
      server_after = process_cpu_us(*options.server_pid);
      report.server_memory_after = server_memory(*options.server_pid);
    }
  };
  progress << "est-bench: " << jobs.size() << " timed requests over " << options.connections
           << " connections\n";
  const auto result =
      options.device
          ? run_device_load(endpoint, jobs, plan, options.device_nagle ? Nagle::on : Nagle::off)
          : run_load(endpoint, jobs, plan);

  report.mode = std::string(mode_name(options.mode));
  report.new_connection = new_connection;
  report.device = options.device;
  report.tcp_nodelay = !options.device_nagle;
  report.connections = options.connections;
  report.threads = options.device ? options.connections : threads;
  report.key_type = std::string(crypto::key_type_name(options.key_type));
  report.requests = jobs.size();
  report.succeeded = result.latencies_ns.size();
  report.duration_s = std::chrono::duration<double>(result.elapsed).count();
  report.enrollments_per_s =
      report.duration_s > 0 ? static_cast<double>(report.succeeded) / report.duration_s : 0;
  report.latency_ms = summarize_latencies(result.latencies_ns);
  report.errors = result.errors;
  if (report.idle) {
    report.idle->opened = result.idle_opened;
    report.idle->open_at_end = result.idle_open_at_end;
    report.idle->errors = result.idle_errors;
  }
  report.tls_version = probe.tls.version;
  report.tls_group = probe.tls.group_nid != 0 ? OBJ_nid2sn(probe.tls.group_nid) : "";
  const double requests = std::max<double>(1, static_cast<double>(jobs.size()));
  report.client_cpu_us_per_op = (client_after - client_before) / requests;
  if (options.server_pid) {
    report.server_cpu_us_per_op = (server_after - server_before) / requests;
  }
  return report;
}

}  // namespace estfleet::bench
