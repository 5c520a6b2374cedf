// est-bench's device-like client (--device): what EST device clients do, so that the server is
// measured as devices meet it. Each of the plan's connections is a thread with a blocking socket:
// per job it connects, runs SSL_connect on a fresh SSL (no session cache, tickets ignored),
// writes the whole request in one SSL_write with `Connection: close`, and reads the response to
// its Content-Length (or to the close, without one).
//
// Devices in the field come both ways: curl and Go's client set TCP_NODELAY, libest and clients
// written on OpenSSL's examples leave Nagle on. --device sets TCP_NODELAY unless --nagle because
// that client is the one that exposes a server without it (issue 18): its request leaves right
// after its handshake Finished, before the server's TLS 1.3 session tickets arrive, its kernel
// delays the ACK of the tickets, and a server with Nagle on holds its answer until that ACK comes
// (~40 ms). With Nagle on, the request waits for the server's ACK of the Finished, which comes with
// the tickets, and so carries the tickets' ACK back: the stall mostly hides. Measured against
// est-server without TCP_NODELAY, one connection: 44 enrollments/s (p90 48 ms) with
// TCP_NODELAY, 141-162/s with Nagle (docs/performance.md).
#pragma once

#include <vector>

#include "estbench/load_generator.hpp"

namespace estfleet::bench {

enum class Nagle { off, on };  // on the client's own sockets

// Uses the plan's connections (one thread each), timeout (per connect, handshake, write and
// read), on_start and on_finish; every job is on a new connection. Fills the result's
// latencies, errors and elapsed time only: bodies are read and dropped, and the negotiated TLS
// facts are the probe's (run_load's client offers the same). Throws std::invalid_argument for
// idle connections or kept bodies, std::runtime_error when the host cannot be resolved or TLS
// cannot be set up; failures of single requests are tallied in `errors`.
LoadResult run_device_load(const Endpoint& endpoint, const std::vector<Job>& jobs,
                           const LoadPlan& plan, Nagle nagle);

}  // namespace estfleet::bench
