// The registry writes of an enrollment (thing, policy version, certificate, audit row), durable
// on commit, so the figures include the fsync of this disk: one writer alone, and many writers
// sharing group commits as the server's request threads do.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <random>

#include "registry/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace estfleet;

// About the size of the policy that the default profile gives a device.
constexpr const char* kPolicyTemplate =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],)"
    R"("Resource":["client/NAME"]},{"Effect":"Allow","Action":["iot:Publish","iot:Receive"],)"
    R"("Resource":["topic/sensors/NAME/*"]},{"Effect":"Allow","Action":["iot:Subscribe"],)"
    R"("Resource":["topicfilter/sensors/NAME/*","topicfilter/broadcast"]}]})";

struct Enrollment {
  registry::CertificateRecord cert;
  registry::ThingRegistration registration;
  registry::AuditEvent audit;
};

Enrollment make_enrollment(std::int64_t i, const std::string& pem) {
  const std::string name = "bench-" + std::to_string(i);
  Enrollment e;
  e.cert.serial = "5EED" + std::to_string(i);
  e.cert.thing_name = name;
  e.cert.subject = "CN=" + name;
  e.cert.not_before = 1'700'000'000;
  e.cert.not_after = 1'731'536'000;
  e.cert.issued_at = 1'700'000'300;
  e.cert.pem = pem;
  const auto digits = std::to_string(i);
  e.cert.sha256_fingerprint =
      std::string(64 - digits.size(), 'a') + digits;  // unique, like serials
  e.registration.policy_name = name;
  e.registration.policy_document = kPolicyTemplate;
  e.audit.time = e.cert.issued_at;
  e.audit.actor = "bench";
  e.audit.source_address = "127.0.0.1";
  e.audit.operation = "simpleenroll";
  e.audit.thing_name = name;
  e.audit.serial = e.cert.serial;
  e.audit.result = "ok";
  return e;
}

std::string sample_pem() {
  const auto authority = testing::make_authority();
  return authority.issuing_certificate().to_pem();
}

void BM_RecordEnrollment(benchmark::State& state) {
  const testing::TempDir dir;
  const auto store = registry::SqliteStore::open((dir.path() / "registry.db").string());
  const auto pem = sample_pem();
  std::int64_t i = 0;
  while (state.KeepRunning()) {
    state.PauseTiming();
    const auto e = make_enrollment(i++, pem);
    state.ResumeTiming();
    store->record_enrollment(e.cert, e.registration, e.audit);
  }
}
BENCHMARK(BM_RecordEnrollment)->Unit(benchmark::kMicrosecond);

// Random like the server's keys: serials, fingerprints and names land on scattered index pages.
std::string random_hex(std::mt19937_64& random, std::size_t bytes) {
  std::string hex;
  while (hex.size() < 2 * bytes) {
    char chunk[17];
    std::snprintf(chunk, sizeof chunk, "%016llx", static_cast<unsigned long long>(random()));
    hex += chunk;
  }
  hex.resize(2 * bytes);
  return hex;
}

Enrollment make_random_enrollment(std::mt19937_64& random, const std::string& pem) {
  auto e = make_enrollment(0, pem);
  const std::string name = "bench-" + random_hex(random, 4) + "-" + random_hex(random, 4);
  e.cert.serial = random_hex(random, 16);
  e.cert.sha256_fingerprint = random_hex(random, 32);
  e.cert.thing_name = name;
  e.cert.subject = "CN=" + name;
  e.registration.policy_name = name;
  e.audit.thing_name = name;
  e.audit.serial = e.cert.serial;
  return e;
}

// The server's request threads each wait for the commit that holds their write, so concurrent
// writes share one COMMIT and one fsync. The time is the whole process's CPU per write: what the
// registry costs one enrollment in the server (SQL, WAL writes, fsync), over a registry that
// already holds thousands of things, with random keys as the server's are.
struct SharedStore {
  testing::TempDir dir;
  std::unique_ptr<registry::SqliteStore> store;
  std::string pem;
};
std::atomic<SharedStore*> shared_store{nullptr};  // NOLINT: made and dropped by thread 0

void BM_RecordEnrollmentShared(benchmark::State& state) {
  constexpr int kPrefillPerThread = 250;
  if (state.thread_index() == 0) {
    auto made = std::make_unique<SharedStore>();
    made->store = registry::SqliteStore::open((made->dir.path() / "registry.db").string());
    made->pem = sample_pem();
    shared_store = made.release();
    shared_store.notify_all();
  }
  shared_store.wait(nullptr);
  SharedStore& shared = *shared_store;
  std::mt19937_64 random(static_cast<std::uint64_t>(state.thread_index()) + 1);
  for (int i = 0; i < kPrefillPerThread; ++i) {
    const auto e = make_random_enrollment(random, shared.pem);
    shared.store->record_enrollment(e.cert, e.registration, e.audit);
  }
  // Making the next row's values (a few random strings) is timed too: under 1 % of a write.
  for (auto _ : state) {
    const auto e = make_random_enrollment(random, shared.pem);
    shared.store->record_enrollment(e.cert, e.registration, e.audit);
  }
  if (state.thread_index() == 0) {
    delete shared_store.exchange(nullptr);
  }
}
BENCHMARK(BM_RecordEnrollmentShared)
    ->Threads(16)
    ->Iterations(100)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Re-enrollment looks the presented certificate up by serial, in a registry of some size.
void BM_FindCertificate(benchmark::State& state) {
  const testing::TempDir dir;
  const auto store = registry::SqliteStore::open((dir.path() / "registry.db").string());
  const auto pem = sample_pem();
  const auto rows = state.range(0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const auto e = make_enrollment(i, pem);
    store->record_enrollment(e.cert, e.registration, e.audit);
  }
  std::int64_t i = 0;
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(store->find_certificate("5EED" + std::to_string(i++ % rows)));
  }
}
BENCHMARK(BM_FindCertificate)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
