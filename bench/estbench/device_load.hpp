// est-bench's device-like client (--device): what most EST device clients do, so that the server
// is measured as devices meet it. Each of the plan's connections is a thread with a blocking
// socket: per job it connects, runs SSL_connect on a fresh SSL (no session cache, tickets
// ignored), writes the whole request in one SSL_write with `Connection: close`, and reads the
// response to its Content-Length (or to the close, without one). Its socket keeps Nagle on
// (no TCP_NODELAY), as libest and plain OpenSSL clients do: a server that leaves Nagle on its
// side waits for this client's delayed ACK, and that stall is what this mode must show.
#pragma once

#include <vector>

#include "estbench/load_generator.hpp"

namespace estfleet::bench {

// Uses the plan's connections (one thread each), timeout (per connect, handshake, write and
// read), on_start and on_finish; every job is on a new connection. Fills the result's
// latencies, errors and elapsed time only: bodies are read and dropped, and the negotiated TLS
// facts are the probe's (run_load's client offers the same). Throws std::invalid_argument for
// idle connections or kept bodies, std::runtime_error when the host cannot be resolved or TLS
// cannot be set up; failures of single requests are tallied in `errors`.
LoadResult run_device_load(const Endpoint& endpoint, const std::vector<Job>& jobs,
                           const LoadPlan& plan);

}  // namespace estfleet::bench
