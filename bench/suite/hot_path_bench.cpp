// The enrollment hot path, piece by piece, in the order est/ runs it: base64 decode, CSR parse,
// CSR signature check, issue, the registry record's fields, PKCS#7 + base64 of the response.
#include <benchmark/benchmark.h>

#include "crypto/encoding.hpp"
#include "crypto/pkcs7.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace estfleet;

// One CA and one device request, made once: making them is not what is measured.
struct Material {
  explicit Material(crypto::KeyType type)
      : device_key(crypto::PrivateKey::generate(type)),
        csr(testing::make_csr("bench-device-0001", device_key)),
        der(csr.to_der()),
        body(crypto::base64_encode(der, 64)) {}

  crypto::Certificate issue() const { return issue_for(csr); }

  // As est/ issues: the CSR's key and its SubjectPublicKeyInfo as it came.
  static crypto::Certificate issue_for(const crypto::CertificateRequest& request) {
    return authority().issue(ca::IssueRequest{"bench-device-0001",
                                              request.public_key(),
                                              request.subject_alt_name_der(),
                                              {},
                                              std::chrono::system_clock::now(),
                                              request.public_key_info()},
                             ca::IssuancePolicy{});
  }

  static const ca::Authority& authority() {
    static const ca::Authority instance = testing::make_authority();
    return instance;
  }

  crypto::PrivateKey device_key;
  crypto::CertificateRequest csr;
  std::string der;
  std::string body;
};

const Material& material(crypto::KeyType type) {
  static const Material ec_p256(crypto::KeyType::ec_p256);
  static const Material rsa_2048(crypto::KeyType::rsa_2048);
  static const Material ed25519(crypto::KeyType::ed25519);
  switch (type) {
    case crypto::KeyType::rsa_2048:
      return rsa_2048;
    case crypto::KeyType::ed25519:
      return ed25519;
    default:
      return ec_p256;
  }
}

void BM_Base64Decode(benchmark::State& state) {
  const auto& m = material(crypto::KeyType::ec_p256);
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(crypto::base64_decode(m.body));
  }
}
BENCHMARK(BM_Base64Decode);

void BM_CsrParse(benchmark::State& state) {
  const auto& m = material(crypto::KeyType::ec_p256);
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(crypto::CertificateRequest::from_der(m.der));
  }
}
BENCHMARK(BM_CsrParse);

void BM_CsrVerify(benchmark::State& state, crypto::KeyType type) {
  const auto& m = material(type);
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(m.csr.verify_signature());
  }
}
BENCHMARK_CAPTURE(BM_CsrVerify, ec_p256, crypto::KeyType::ec_p256);
BENCHMARK_CAPTURE(BM_CsrVerify, rsa_2048, crypto::KeyType::rsa_2048);
BENCHMARK_CAPTURE(BM_CsrVerify, ed25519, crypto::KeyType::ed25519);

// Authority::issue with the issuing key that `init` makes (EC P-256).
void BM_Issue(benchmark::State& state) {
  const auto& m = material(crypto::KeyType::ec_p256);
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(m.issue());
  }
}
BENCHMARK(BM_Issue);

// What est/ derives from the new certificate for its registry record.
void BM_RecordFields(benchmark::State& state) {
  const auto cert = material(crypto::KeyType::ec_p256).issue();
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(cert.serial_hex());
    benchmark::DoNotOptimize(cert.subject_text());
    benchmark::DoNotOptimize(cert.to_pem());
    benchmark::DoNotOptimize(cert.sha256_fingerprint());
  }
}
BENCHMARK(BM_RecordFields);

void BM_Pkcs7Response(benchmark::State& state) {
  const auto cert = material(crypto::KeyType::ec_p256).issue();
  while (state.KeepRunning()) {
    benchmark::DoNotOptimize(crypto::base64_encode(crypto::pkcs7_certs_only({cert}), 64));
  }
}
BENCHMARK(BM_Pkcs7Response);

// The pieces above in sequence, without the registry: the CPU the protocol layer spends per
// enrollment beside TLS and HTTP.
void BM_EnrollmentPipeline(benchmark::State& state) {
  const auto& m = material(crypto::KeyType::ec_p256);
  while (state.KeepRunning()) {
    const auto der = crypto::base64_decode(m.body);
    const auto csr = crypto::CertificateRequest::from_der(*der);
    if (!csr.verify_signature()) {
      state.SkipWithError("the CSR does not verify");
      break;
    }
    const auto cert = Material::issue_for(csr);
    benchmark::DoNotOptimize(cert.serial_hex());
    benchmark::DoNotOptimize(cert.to_pem());
    benchmark::DoNotOptimize(cert.sha256_fingerprint());
    benchmark::DoNotOptimize(crypto::base64_encode(crypto::pkcs7_certs_only({cert}), 64));
  }
}
BENCHMARK(BM_EnrollmentPipeline);

}  // namespace
