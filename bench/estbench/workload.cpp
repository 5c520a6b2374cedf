#include "estbench/workload.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <thread>

#include "crypto/csr.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"

namespace estfleet::bench {
namespace {

std::string thing_name(const std::string& run_id, std::size_t i) {
  return "bench-" + run_id + "-" + std::to_string(i);
}

// Calls make(i) for every i below count, spread over `threads` threads; rethrows the first
// exception.
template <class Make>
void parallel_for(std::size_t count, unsigned threads, Make&& make) {
  std::vector<std::exception_ptr> failures(std::max(1U, threads));
  std::vector<std::thread> workers;
  for (std::size_t share = 0; share < failures.size(); ++share) {
    workers.emplace_back([&, share] {
      try {
        for (std::size_t i = share; i < count; i += failures.size()) {
          make(i);
        }
      } catch (...) {
        failures[share] = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  for (const auto& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
}

}  // namespace

std::string random_run_id() {
  unsigned char bytes[4];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    crypto::throw_openssl_error("cannot draw a run identifier");
  }
  return crypto::hex_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::vector<crypto::PrivateKey> make_keys(std::size_t count, crypto::KeyType type,
                                          unsigned threads) {
  std::vector<std::optional<crypto::PrivateKey>> made(count);
  parallel_for(count, threads,
               [&](std::size_t i) { made[i] = crypto::PrivateKey::generate(type); });
  std::vector<crypto::PrivateKey> keys;
  keys.reserve(count);
  for (auto& key : made) {
    keys.push_back(std::move(*key));
  }
  return keys;
}

std::vector<Enrollee> make_enrollees(std::size_t count, crypto::KeyType type,
                                     const std::string& run_id, unsigned threads) {
  auto keys = make_keys(count, type, threads);
  std::vector<std::string> bodies(count);
  parallel_for(count, threads, [&](std::size_t i) {
    crypto::CsrSpec spec;
    spec.common_name = thing_name(run_id, i);
    bodies[i] = crypto::base64_encode(crypto::build_csr(spec, keys[i]).to_der(), 64);
  });
  std::vector<Enrollee> enrollees;
  enrollees.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    enrollees.push_back(Enrollee{thing_name(run_id, i), std::move(keys[i]), std::move(bodies[i])});
  }
  return enrollees;
}

std::string renewal_body(const crypto::Certificate& current, const crypto::PrivateKey& key) {
  crypto::CsrSpec spec;
  spec.subject_der = current.subject_der();
  spec.subject_alt_name_der = current.subject_alt_name_der();
  return crypto::base64_encode(crypto::build_csr(spec, key).to_der(), 64);
}

}  // namespace estfleet::bench
