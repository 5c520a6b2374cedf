// Test PKI made at test time: root -> intermediate -> leaf, each step through the public API.
#pragma once

#include <chrono>
#include <string>

#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto::testing {

inline const TimePoint kNow = std::chrono::system_clock::from_time_t(1'800'000'000);
constexpr auto kDay = std::chrono::hours(24);

inline CertificateSpec ca_spec(const std::string& cn, const EVP_PKEY* key, int path_length,
                               const std::string& serial) {
  CertificateSpec spec;
  spec.serial = serial;
  spec.subject_der = name_der({{"O", "est-fleet tests"}, {"CN", cn}});
  spec.public_key = key;
  spec.not_before = kNow - kDay;
  spec.not_after = kNow + 3650 * kDay;
  spec.is_ca = true;
  spec.path_length = path_length;
  spec.key_usage = {"keyCertSign", "cRLSign"};
  return spec;
}

struct TestPki {
  PrivateKey root_key = PrivateKey::generate(KeyType::ec_p384);
  Certificate root =
      sign_certificate(ca_spec("Test Root", root_key.get(), 1, "\x01"), nullptr, root_key.get());
  PrivateKey issuing_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate issuing = sign_certificate(ca_spec("Test Issuing", issuing_key.get(), 0, "\x02"),
                                         &root, root_key.get());
  PrivateKey device_key = PrivateKey::generate(KeyType::ec_p256);
  CertificateRequest csr = make_csr();
  Certificate leaf = sign_leaf();

 private:
  CertificateRequest make_csr() const {
    CsrSpec spec;
    spec.common_name = "device-1";
    spec.subject_alt_names = {"DNS:device-1.example", "IP:10.0.0.1"};
    return build_csr(spec, device_key);
  }

  Certificate sign_leaf() const {
    CertificateSpec spec;
    spec.serial = std::string("\x80\x00\x00\x00\x00\x00\x00\x2a", 8);  // high bit set
    spec.subject_der = name_der({{"CN", "device-1"}});
    spec.public_key = csr.public_key();
    spec.not_before = kNow - kDay;
    spec.not_after = kNow + 365 * kDay;
    spec.key_usage = {"digitalSignature"};
    spec.extended_key_usage = {"clientAuth"};
    spec.subject_alt_name_der = csr.subject_alt_name_der();
    spec.extra_extensions = {{"1.3.6.1.4.1.55555.1", false, der_utf8_string("extra")}};
    return sign_certificate(spec, &issuing, issuing_key.get());
  }
};

}  // namespace estfleet::crypto::testing
