// The registry writes of an enrollment: one transaction per device (thing, policy version,
// certificate, audit row), durable on commit, so the figure includes the fsync of this disk.
#include <benchmark/benchmark.h>

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
