#include "estbench/crypto_floor.hpp"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <memory>

#include "crypto/error.hpp"

namespace estfleet::bench {
namespace {

using MdPtr = std::unique_ptr<EVP_MD, crypto::OsslDeleter<EVP_MD_free>>;

// Per primitive: long enough for the 10 ms scheduler tick and a noisy neighbour to average out.
constexpr std::int64_t kBudgetNs = 150'000'000;
constexpr int kBatch = 8;
// About the size of a TBSCertificate; for the handshake the signed content is smaller, but the
// cost of an ECDSA or RSA operation hardly depends on the message.
constexpr std::size_t kMessageBytes = 400;

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

template <class Operation>
double microseconds_per_op(Operation&& operation) {
  operation();  // first use pays for lazy initialisation inside OpenSSL
  const auto start = thread_cpu_ns();
  std::int64_t count = 0;
  std::int64_t spent = 0;
  do {
    for (int i = 0; i < kBatch; ++i) {
      operation();
    }
    count += kBatch;
    spent = thread_cpu_ns() - start;
  } while (spent < kBudgetNs);
  return static_cast<double>(spent) / 1000.0 / static_cast<double>(count);
}

crypto::KeyType key_type_like(const EVP_PKEY* key) {
  const auto description = crypto::describe_key(key);
  if (description.algorithm == "ED25519") {
    return crypto::KeyType::ed25519;
  }
  if (description.algorithm == "EC" && description.curve == "prime256v1") {
    return crypto::KeyType::ec_p256;
  }
  if (description.algorithm == "EC" && description.curve == "secp384r1") {
    return crypto::KeyType::ec_p384;
  }
  if (description.algorithm == "RSA") {
    switch (description.bits) {
      case 2048:
        return crypto::KeyType::rsa_2048;
      case 3072:
        return crypto::KeyType::rsa_3072;
      case 4096:
        return crypto::KeyType::rsa_4096;
      default:
        break;
    }
  }
  throw crypto::CryptoError("no floor can be measured for a " + description.to_string() + " key");
}

// Sign and verify with a fresh key of a given type, the digest fetched once.
class Signature {
 public:
  explicit Signature(crypto::KeyType type)
      : key_(crypto::PrivateKey::generate(type)), message_(kMessageBytes, '\x5a') {
    if (const EVP_MD* legacy = crypto::signature_digest_for(key_.get())) {
      md_.reset(EVP_MD_fetch(nullptr, EVP_MD_get0_name(legacy), nullptr));
      if (!md_) {
        crypto::throw_openssl_error("cannot fetch the signature digest");
      }
    }
    signature_ = sign();
  }

  std::string sign() const {
    crypto::MdCtxPtr ctx(EVP_MD_CTX_new());
    std::string signature(static_cast<std::size_t>(EVP_PKEY_get_size(key_.get())), '\0');
    std::size_t length = signature.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md_.get(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(message_.data()),
                       message_.size()) != 1) {
      crypto::throw_openssl_error("floor: signing failed");
    }
    signature.resize(length);
    return signature;
  }

  void verify() const {
    crypto::MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md_.get(), nullptr, key_.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature_.data()),
                         signature_.size(), reinterpret_cast<const unsigned char*>(message_.data()),
                         message_.size()) != 1) {
      crypto::throw_openssl_error("floor: verification failed");
    }
  }

  std::string description() const { return crypto::describe_key(key_.get()).to_string(); }

 private:
  crypto::PrivateKey key_;
  MdPtr md_;
  std::string message_;
  std::string signature_;
};

// The server's half of an ephemeral (EC)DH exchange: a fresh key pair, then the shared secret
// with the client's share.
class KeyExchange {
 public:
  explicit KeyExchange(int group_nid) {
    const bool montgomery = group_nid == NID_X25519 || group_nid == NID_X448;
    generator_.reset(
        EVP_PKEY_CTX_new_from_name(nullptr, montgomery ? OBJ_nid2sn(group_nid) : "EC", nullptr));
    if (!generator_ || EVP_PKEY_keygen_init(generator_.get()) != 1 ||
        (!montgomery &&
         EVP_PKEY_CTX_set_group_name(generator_.get(), OBJ_nid2sn(group_nid)) != 1)) {
      crypto::throw_openssl_error("floor: cannot set up key exchange in group " +
                                  std::string(OBJ_nid2sn(group_nid)));
    }
    peer_ = generate();
  }

  void exchange() const {
    const auto mine = generate();
    crypto::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
    unsigned char secret[128];
    std::size_t length = sizeof secret;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer_.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), secret, &length) != 1) {
      crypto::throw_openssl_error("floor: key derivation failed");
    }
  }

 private:
  crypto::PkeyPtr generate() const {
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_keygen(generator_.get(), &key) != 1) {
      crypto::throw_openssl_error("floor: key generation failed");
    }
    return crypto::PkeyPtr(key);
  }

  crypto::PkeyCtxPtr generator_;
  crypto::PkeyPtr peer_;
};

std::string group_name(int nid) {
  switch (nid) {
    case NID_X25519:
      return "X25519";
    case NID_X9_62_prime256v1:
      return "P-256";
    case NID_secp384r1:
      return "P-384";
    default:
      return OBJ_nid2sn(nid);
  }
}

// Measures each primitive once, however many parts use it.
class Meter {
 public:
  double key_exchange(int nid) {
    return cached("kex " + std::to_string(nid), [nid] {
      const KeyExchange exchange(nid);
      return microseconds_per_op([&] { exchange.exchange(); });
    });
  }
  double sign(crypto::KeyType type) {
    return cached("sign " + std::string(crypto::key_type_name(type)), [type] {
      const Signature signature(type);
      return microseconds_per_op([&] { static_cast<void>(signature.sign()); });
    });
  }
  double verify(crypto::KeyType type) {
    return cached("verify " + std::string(crypto::key_type_name(type)), [type] {
      const Signature signature(type);
      return microseconds_per_op([&] { signature.verify(); });
    });
  }

 private:
  template <class Measure>
  double cached(const std::string& key, Measure&& measure) {
    const auto found = results_.find(key);
    if (found != results_.end()) {
      return found->second;
    }
    return results_[key] = measure();
  }
  std::map<std::string, double> results_;
};

std::string describe(const EVP_PKEY* key) {
  return crypto::describe_key(key).to_string();
}

}  // namespace

CryptoFloor measure_crypto_floor(const FloorInputs& inputs) {
  Meter meter;
  CryptoFloor floor;
  const auto add = [&floor](std::string name, double us) {
    floor.parts.push_back(CryptoCost{std::move(name), us});
    floor.us_per_op += us;
  };
  const std::string device(crypto::key_type_name(inputs.device_key));
  if (inputs.new_connection) {
    if (inputs.key_exchange_nid != 0) {
      add("key exchange " + group_name(inputs.key_exchange_nid) + " (keygen + derive)",
          meter.key_exchange(inputs.key_exchange_nid));
    }
    add("handshake signature " + describe(inputs.server_tls_key),
        meter.sign(key_type_like(inputs.server_tls_key)));
    if (inputs.client_certificate) {
      add("client CertificateVerify check " + device, meter.verify(inputs.device_key));
    }
  }
  if (inputs.client_certificate) {
    add("client certificate check " + describe(inputs.issuing_ca_key),
        meter.verify(key_type_like(inputs.issuing_ca_key)));
  }
  if (inputs.enrollment) {
    add("CSR verify " + device, meter.verify(inputs.device_key));
    add("certificate sign " + describe(inputs.issuing_ca_key),
        meter.sign(key_type_like(inputs.issuing_ca_key)));
  }
  floor.references = {
      {"key exchange X25519 (keygen + derive)", meter.key_exchange(NID_X25519)},
      {"key exchange P-256 (keygen + derive)", meter.key_exchange(NID_X9_62_prime256v1)},
      {"ECDSA P-256 sign", meter.sign(crypto::KeyType::ec_p256)},
      {"ECDSA P-256 verify", meter.verify(crypto::KeyType::ec_p256)},
  };
  return floor;
}

}  // namespace estfleet::bench
