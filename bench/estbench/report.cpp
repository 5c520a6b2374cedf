#include "estbench/report.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace estfleet::bench {
namespace {

double at_rank(const std::vector<std::int64_t>& sorted, double quantile) {
  const auto rank =
      static_cast<std::size_t>(std::ceil(quantile * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::max<std::size_t>(rank, 1) - 1]) / 1e6;
}

nlohmann::json costs_json(const std::vector<CryptoCost>& costs) {
  auto list = nlohmann::json::array();
  for (const auto& cost : costs) {
    list.push_back({{"name", cost.name}, {"us_per_op", cost.us_per_op}});
  }
  return list;
}

nlohmann::json memory_json(const std::optional<ServerMemory>& memory) {
  if (!memory) {
    return nullptr;
  }
  return {{"vm_rss_kib", memory->rss_kib}, {"vm_hwm_kib", memory->hwm_kib}};
}

}  // namespace

Latency summarize_latencies(std::vector<std::int64_t> latencies_ns) {
  if (latencies_ns.empty()) {
    return {};
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  return Latency{at_rank(latencies_ns, 0.50), at_rank(latencies_ns, 0.90),
                 at_rank(latencies_ns, 0.99), static_cast<double>(latencies_ns.back()) / 1e6};
}

std::optional<double> Report::ratio_to_floor() const {
  if (!server_cpu_us_per_op || floor.us_per_op <= 0) {
    return std::nullopt;
  }
  return *server_cpu_us_per_op / floor.us_per_op;
}

std::string to_json(const Report& report) {
  nlohmann::json json = {
      {"mode", report.mode},
      {"connection", report.new_connection ? "new" : "keepalive"},
      {"client", report.device ? "device" : "asio"},
      {"tcp_nodelay", report.tcp_nodelay},
      {"connections", report.connections},
      {"threads", report.threads},
      {"key_type", report.key_type},
      {"requests", report.requests},
      {"succeeded", report.succeeded},
      {"duration_s", report.duration_s},
      {"enrollments_per_s", report.enrollments_per_s},
      {"latency_ms",
       {{"p50", report.latency_ms.p50},
        {"p90", report.latency_ms.p90},
        {"p99", report.latency_ms.p99},
        {"max", report.latency_ms.max}}},
      {"errors", report.errors},
      {"tls", {{"version", report.tls_version}, {"group", report.tls_group}}},
      {"load_average", report.load_average},
      {"client_cpu_us_per_op", report.client_cpu_us_per_op},
      {"floor_us_per_op", report.floor.us_per_op},
      {"floor",
       {{"parts", costs_json(report.floor.parts)},
        {"references", costs_json(report.floor.references)}}},
  };
  if (report.server_cpu_us_per_op) {
    json["server_cpu_us_per_op"] = *report.server_cpu_us_per_op;
    const auto ratio = report.ratio_to_floor();
    json["ratio_to_floor"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
    json["server_memory"] = {{"start", memory_json(report.server_memory_start)},
                             {"timed_start", memory_json(report.server_memory_before)},
                             {"timed_end", memory_json(report.server_memory_after)}};
  }
  if (report.idle) {
    json["idle"] = {{"requested", report.idle->requested},
                    {"opened", report.idle->opened},
                    {"open_at_end", report.idle->open_at_end},
                    {"errors", report.idle->errors}};
  }
  return json.dump(2);
}

std::string to_text(const Report& report) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  out << report.mode << " over "
      << (report.new_connection ? "a new connection per request" : "kept-alive connections")
      << (report.device ? " (device-like client)" : "")
      << (report.tcp_nodelay ? "" : " with Nagle on") << ", " << report.connections
      << " connections, " << report.threads << " client threads, " << report.key_type << " keys, "
      << report.tls_version << " " << report.tls_group << "\n";
  out << "  " << report.succeeded << "/" << report.requests << " succeeded in "
      << std::setprecision(2) << report.duration_s << " s: " << std::setprecision(1)
      << report.enrollments_per_s << " /s\n";
  out << std::setprecision(2) << "  latency ms: p50 " << report.latency_ms.p50 << "  p90 "
      << report.latency_ms.p90 << "  p99 " << report.latency_ms.p99 << "  max "
      << report.latency_ms.max << "\n";
  for (const auto& [kind, count] : report.errors) {
    out << "  error " << kind << ": " << count << "\n";
  }
  out << std::setprecision(1) << "  crypto floor per request: " << report.floor.us_per_op
      << " us\n";
  for (const auto& part : report.floor.parts) {
    out << "    " << part.name << ": " << part.us_per_op << " us\n";
  }
  if (report.server_cpu_us_per_op) {
    out << "  server CPU per request: " << *report.server_cpu_us_per_op << " us";
    if (const auto ratio = report.ratio_to_floor()) {
      out << " = " << std::setprecision(2) << *ratio << " x floor";
    }
    out << "\n";
  }
  if (report.idle) {
    out << "  idle connections: " << report.idle->opened << "/" << report.idle->requested
        << " opened, " << report.idle->open_at_end << " still open at the end\n";
    for (const auto& [kind, count] : report.idle->errors) {
      out << "    idle error " << kind << ": " << count << "\n";
    }
  }
  if (report.server_memory_before && report.server_memory_after) {
    out << "  server VmRSS MiB: " << static_cast<double>(report.server_memory_start->rss_kib) / 1024
        << " at start, " << static_cast<double>(report.server_memory_before->rss_kib) / 1024
        << " when timed phase started, "
        << static_cast<double>(report.server_memory_after->rss_kib) / 1024 << " at its end; VmHWM "
        << static_cast<double>(report.server_memory_after->hwm_kib) / 1024 << "\n";
  }
  out << std::setprecision(1) << "  client CPU per request: " << report.client_cpu_us_per_op
      << " us (same machine)\n";
  out << "  load average before: " << report.load_average << "\n";
  return out.str();
}

}  // namespace estfleet::bench
