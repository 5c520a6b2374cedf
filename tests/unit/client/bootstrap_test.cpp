#include "client/bootstrap.hpp"

#include <gtest/gtest.h>

#include "client/errors.hpp"
#include "crypto/key.hpp"

namespace estfleet::client {
namespace {

using crypto::Certificate;
using crypto::CertificateSpec;
using crypto::KeyType;
using crypto::PrivateKey;

// A CA and its TLS server the way `est-server init` lays them out, valid now.
struct ServerPki {
  static CertificateSpec spec(const std::string& cn, const PrivateKey& key, bool ca,
                              const std::string& serial) {
    const auto now = std::chrono::system_clock::now();
    CertificateSpec s;
    s.serial = serial;
    s.subject_der = crypto::name_der({{"CN", cn}});
    s.public_key = key.get();
    s.not_before = now - std::chrono::hours(1);
    s.not_after = now + std::chrono::hours(24);
    s.is_ca = ca;
    s.key_usage = ca ? std::vector<std::string>{"keyCertSign", "cRLSign"}
                     : std::vector<std::string>{"digitalSignature"};
    return s;
  }
  static CertificateSpec server_spec(const PrivateKey& key, const std::string& serial) {
    auto s = spec("est server", key, false, serial);
    s.extended_key_usage = {"serverAuth", std::string(crypto::kIdKpCmcRa)};
    s.subject_alt_names = {"DNS:localhost", "IP:127.0.0.1"};
    return s;
  }

  PrivateKey root_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate root =
      sign_certificate(spec("Root", root_key, true, "\x01"), nullptr, root_key.get());
  PrivateKey issuing_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate issuing =
      sign_certificate(spec("Issuing", issuing_key, true, "\x02"), &root, root_key.get());
  PrivateKey server_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate server =
      sign_certificate(server_spec(server_key, "\x03"), &issuing, issuing_key.get());

  std::vector<Certificate> cacerts() const { return {issuing, root}; }
  std::vector<std::string> tls_chain() const { return {server.to_der(), issuing.to_der()}; }
};

std::string with_colons_upper(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out += (i ? ":" : "") + hex.substr(i, 2);
  }
  for (auto& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ClientError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Fingerprint, NormalisesColonsSpacesAndCase) {
  const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  EXPECT_EQ(normalize_fingerprint(hex), hex);
  EXPECT_EQ(normalize_fingerprint(with_colons_upper(hex)), hex);
  EXPECT_EQ(normalize_fingerprint("0123 4567" + hex.substr(8)), hex);
}

TEST(Fingerprint, RefusesWrongLengthOrNonHex) {
  EXPECT_EQ(normalize_fingerprint(std::string(63, 'a')), std::nullopt);
  EXPECT_EQ(normalize_fingerprint(std::string(66, 'a')), std::nullopt);
  EXPECT_EQ(normalize_fingerprint(std::string(64, 'g')), std::nullopt);
  EXPECT_EQ(normalize_fingerprint(""), std::nullopt);
}

TEST(PinnedRoot, TrustsTheRootWithTheGivenFingerprint) {
  const ServerPki pki;
  const auto fingerprint = with_colons_upper(pki.root.sha256_fingerprint());
  const auto root = pinned_root(pki.cacerts(), pki.tls_chain(), "localhost", fingerprint);
  EXPECT_EQ(root.to_der(), pki.root.to_der());
  EXPECT_EQ(pinned_root(pki.cacerts(), pki.tls_chain(), "127.0.0.1", fingerprint).to_der(),
            pki.root.to_der());
}

TEST(PinnedRoot, RefusesAnotherFingerprint) {
  const ServerPki pki;
  const auto message = error_of(
      [&] { pinned_root(pki.cacerts(), pki.tls_chain(), "localhost", std::string(64, '0')); });
  EXPECT_NE(message.find("does not match --trust-fingerprint"), std::string::npos) << message;
  EXPECT_NE(message.find(pki.root.sha256_fingerprint()), std::string::npos) << message;
}

TEST(PinnedRoot, TheFingerprintOfANonRootDoesNotCount) {
  const ServerPki pki;
  EXPECT_NE(error_of([&] {
              pinned_root(pki.cacerts(), pki.tls_chain(), "localhost",
                          pki.issuing.sha256_fingerprint());
            }).find("does not match"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              pinned_root({pki.issuing}, pki.tls_chain(), "localhost",
                          pki.root.sha256_fingerprint());
            }),
            "the cacerts response holds no self-signed root certificate");
}

TEST(PinnedRoot, RefusesAMalformedFingerprint) {
  const ServerPki pki;
  EXPECT_THROW(pinned_root(pki.cacerts(), pki.tls_chain(), "localhost", "abc"), ClientError);
}

TEST(PinnedRoot, TheTlsServerMustChainToThatRoot) {
  const ServerPki pki;
  const ServerPki other;  // an impostor answering with the genuine cacerts
  EXPECT_NE(error_of([&] {
              pinned_root(pki.cacerts(), other.tls_chain(), "localhost",
                          pki.root.sha256_fingerprint());
            }).find("does not chain to the fingerprinted root"),
            std::string::npos);
  EXPECT_THROW(pinned_root(pki.cacerts(), {}, "localhost", pki.root.sha256_fingerprint()),
               ClientError);
}

TEST(PinnedRoot, TheTlsServerMustBeForTheHostAndAServer) {
  const ServerPki pki;
  EXPECT_EQ(error_of([&] {
              pinned_root(pki.cacerts(), pki.tls_chain(), "est.example.com",
                          pki.root.sha256_fingerprint());
            }),
            "the server's TLS certificate is not for est.example.com");
  // A device certificate from the same CA (clientAuth only) cannot stand in for the server.
  auto device_spec = ServerPki::spec("localhost", pki.server_key, false, "\x04");
  device_spec.extended_key_usage = {"clientAuth"};
  const auto device = sign_certificate(device_spec, &pki.issuing, pki.issuing_key.get());
  EXPECT_EQ(error_of([&] {
              pinned_root(pki.cacerts(), {device.to_der()}, "localhost",
                          pki.root.sha256_fingerprint());
            }),
            "the server's TLS certificate is not a TLS server certificate");
}

TEST(PinnedRoot, RefusesAServerCertificateWithoutTheEstServersMarkUnlessTold) {
  const ServerPki pki;
  // The broker's certificate: the same CA, serverAuth, the same names, no id-kp-cmcRA.
  auto broker_spec = ServerPki::server_spec(pki.server_key, "\x05");
  broker_spec.extended_key_usage = {"serverAuth"};
  const auto broker = sign_certificate(broker_spec, &pki.issuing, pki.issuing_key.get());
  const std::vector<std::string> chain{broker.to_der(), pki.issuing.to_der()};
  const auto error = error_of(
      [&] { pinned_root(pki.cacerts(), chain, "localhost", pki.root.sha256_fingerprint()); });
  EXPECT_NE(error.find("lacks id-kp-cmcRA, the extended key usage that marks an EST server"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("--no-ra-check"), std::string::npos) << error;
  EXPECT_EQ(pinned_root(pki.cacerts(), chain, "localhost", pki.root.sha256_fingerprint(),
                        EstServerMark::not_required)
                .to_der(),
            pki.root.to_der());
}

}  // namespace
}  // namespace estfleet::client
