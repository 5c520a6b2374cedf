// A client chain built to be expensive to verify: intermediates whose RSA-3072 keys have public
// exponents of ~3070 bits (OpenSSL caps the exponent only above 3072 bits), so each signature
// check costs about as much as a private-key operation. A server that let OpenSSL build and check
// the client chain during the handshake spent that before any credential was looked at. The
// transport must not: a handshake with such a chain costs about what a normal one costs.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>

#include <fstream>
#include <thread>

#include "crypto/key.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/test_pki.hpp"

namespace estfleet::http {
namespace {

using namespace std::chrono_literals;

// An RSA key of `bits` whose public exponent is a random odd number of bits - 2 bits, coprime to
// lambda(n). Built from the definition (RFC 8017 §3), since no key generator makes such keys.
EVP_PKEY* rsa_key_with_huge_exponent(int bits) {
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM* p = BN_new();
  BIGNUM* q = BN_new();
  BN_generate_prime_ex(p, bits / 2, 0, nullptr, nullptr, nullptr);
  BN_generate_prime_ex(q, bits / 2, 0, nullptr, nullptr, nullptr);
  BIGNUM* n = BN_new();
  BN_mul(n, p, q, ctx);
  BIGNUM* p1 = BN_dup(p);
  BIGNUM* q1 = BN_dup(q);
  BN_sub_word(p1, 1);
  BN_sub_word(q1, 1);
  BIGNUM* gcd = BN_new();
  BN_gcd(gcd, p1, q1, ctx);
  BIGNUM* lambda = BN_new();
  BN_mul(lambda, p1, q1, ctx);
  BN_div(lambda, nullptr, lambda, gcd, ctx);
  BIGNUM* e = BN_new();
  BIGNUM* d = nullptr;
  do {
    BN_rand(e, bits - 2, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
    BN_free(d);
    d = BN_mod_inverse(nullptr, e, lambda, ctx);
  } while (d == nullptr);
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_D, d);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_FACTOR1, p);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_FACTOR2, q);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* from = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(from);
  EVP_PKEY_fromdata(from, &key, EVP_PKEY_KEYPAIR, params);
  EVP_PKEY_CTX_free(from);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  for (BIGNUM* value : {p, q, n, p1, q1, gcd, lambda, e, d}) {
    BN_free(value);
  }
  BN_CTX_free(ctx);
  return key;
}

// A certificate named CN=`subject`, issued by CN=`issuer`, for `subject_key`, signed by
// `signing_key`, as PEM.
std::string certificate(const std::string& subject, const std::string& issuer,
                        EVP_PKEY* subject_key, EVP_PKEY* signing_key, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1000 + static_cast<long>(subject.size()));
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  const auto name = [](const std::string& cn) {
    X509_NAME* built = X509_NAME_new();
    X509_NAME_add_entry_by_txt(built, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    return built;
  };
  X509_NAME* subject_name = name(subject);
  X509_NAME* issuer_name = name(issuer);
  X509_set_subject_name(cert, subject_name);
  X509_set_issuer_name(cert, issuer_name);
  X509_NAME_free(subject_name);
  X509_NAME_free(issuer_name);
  X509_set_pubkey(cert, subject_key);
  if (ca) {
    X509_EXTENSION* basic =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert, basic, -1);
    X509_EXTENSION_free(basic);
  }
  X509_sign(cert, signing_key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

std::chrono::microseconds process_cpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

TEST(HostileChain, AnExpensiveClientChainCostsTheServerNoMoreThanANormalHandshake) {
  ::estfleet::testing::TempDir dir;
  auto authority = ::estfleet::testing::make_authority();
  const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  std::ofstream(dir.path() / "server.pem")
      << authority
             .issue_tls_server(tls_key.get(), {"localhost"}, std::chrono::system_clock::now(), 1h,
                               ca::TlsServerRole::est_server)
             .to_pem()
      << authority.issuing_certificate().to_pem();
  std::ofstream(dir.path() / "server.key") << tls_key.to_pem();
  ServerOptions options;
  options.listen_port = 0;
  options.threads = 1;
  options.handle_signals = false;
  options.certificate_chain_file = (dir.path() / "server.pem").string();
  options.private_key_file = (dir.path() / "server.key").string();
  Server server(options, [](const Request&, const TlsPeer& peer) {
    return Response{200, {}, std::to_string(peer.peer_chain_der.size())};
  });
  std::thread runner([&] { server.run(); });
  // However the test ends (a failed handshake throws): the server stops, then its thread is
  // joined (members are destroyed in reverse: stopper first).
  struct Joiner {
    std::thread& thread;
    ~Joiner() { thread.join(); }
  } const joiner{runner};
  const std::unique_ptr<Server, void (*)(Server*)> stopper(
      &server, [](Server* running) { running->stop(); });

  // Leaf (P-256, the key the client proves) <- 20 intermediates, each signed by the huge-exponent
  // key: about 25 KiB, under the server's 32 KiB limit on the Certificate message.
  EVP_PKEY* heavy = rsa_key_with_huge_exponent(3072);
  ASSERT_NE(heavy, nullptr);
  const auto leaf_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  constexpr int kIntermediates = 20;
  std::string chain =
      certificate("leaf", "ca0", const_cast<EVP_PKEY*>(leaf_key.get()), heavy, false);
  for (int i = 0; i < kIntermediates; ++i) {
    chain +=
        certificate("ca" + std::to_string(i), "ca" + std::to_string(i + 1), heavy, heavy, true);
  }
  // Past 32 KiB the Certificate message itself is refused: the handshake fails.
  std::string oversized = chain;
  for (int i = kIntermediates; i < 2 * kIntermediates; ++i) {
    oversized +=
        certificate("ca" + std::to_string(i), "ca" + std::to_string(i + 1), heavy, heavy, true);
  }
  EVP_PKEY_free(heavy);

  ClientOptions client;
  client.host = "localhost";
  client.port = server.port();
  client.trust_anchors_pem = authority.root().to_pem();
  client.timeout = 30s;
  const auto handshake_cpu = [&](const std::string& cert_pem, const std::string& key_pem) {
    auto with_cert = client;
    with_cert.client_certificate_pem = cert_pem;
    with_cert.client_private_key_pem = key_pem;
    const auto before = process_cpu();
    for (int i = 0; i < 3; ++i) {
      const auto answer = Connection::open(with_cert).send({"GET", "/", {}, {}});
      EXPECT_EQ(answer.status, 200);
    }
    return (process_cpu() - before) / 3;
  };
  const auto normal_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto normal = authority.issue(
      ca::IssueRequest{"normal", normal_key.get(), {}, {}, std::chrono::system_clock::now()},
      ca::IssuancePolicy{});
  const auto normal_cpu = handshake_cpu(normal.to_pem(), normal_key.to_pem());
  const auto hostile_cpu = handshake_cpu(chain, leaf_key.to_pem());
  auto too_long = client;
  too_long.client_certificate_pem = oversized;
  too_long.client_private_key_pem = leaf_key.to_pem();
  EXPECT_THROW(Connection::open(too_long).send({"GET", "/", {}, {}}), TransportError)
      << "a Certificate message over 32 KiB was accepted";
  // Verifying the chain costs ~20 checks of ~3-6 ms each; not verifying it, parsing 25 KiB. The
  // client's own work (building its context from the chain) is in both figures.
  EXPECT_LT(hostile_cpu, normal_cpu * 4 + 20ms)
      << "normal handshake " << normal_cpu.count() << " us, hostile " << hostile_cpu.count()
      << " us of CPU: the server verified the client's chain";
}

}  // namespace
}  // namespace estfleet::http
