#include "crypto/pkcs11_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "crypto/error.hpp"
#include "crypto/signature.hpp"
#include "support/softhsm.hpp"

namespace estfleet::crypto {
namespace {

using ::testing::HasSubstr;
using testing::SoftHsm;

// A software copy of the public half, so verification never goes through the token.
PkeyPtr public_half(const PrivateKey& key) {
  const std::string der = key.public_key_der();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

Pkcs11Uri uri_for(const std::string& object, const std::string& token = SoftHsm::kMainToken) {
  return Pkcs11Uri::parse("pkcs11:token=" + token + ";object=" + object);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Pkcs11Uri, ParsesTokenObjectAndIdAndPrintsTheCanonicalForm) {
  const auto uri =
      Pkcs11Uri::parse("pkcs11:token=My%20HSM;object=issuing-ca;id=%01%ab;type=private");
  EXPECT_EQ(uri.token, "My HSM");
  EXPECT_EQ(uri.object, "issuing-ca");
  EXPECT_EQ(uri.id, std::string("\x01\xab", 2));
  EXPECT_EQ(uri.to_string(), "pkcs11:token=My%20HSM;object=issuing-ca;id=%01%ab;type=private");
  EXPECT_EQ(uri.describe(), "object 'issuing-ca' in PKCS#11 token 'My HSM'");
  EXPECT_TRUE(Pkcs11Uri::looks_like("pkcs11:token=a;object=b"));
  EXPECT_FALSE(Pkcs11Uri::looks_like("ca/issuing.key"));
}

TEST(Pkcs11Uri, RefusesWhatCannotNameOneSigningKey) {
  const auto refusal = [](const std::string& text) {
    return error_of([&] { Pkcs11Uri::parse(text); });
  };
  EXPECT_THAT(refusal("pkcs11:token=t;object=k?pin-value=1234"), HasSubstr("carries a PIN"));
  EXPECT_THAT(refusal("pkcs11:token=t;object=k?module-path=/x.so"), HasSubstr("'module-path'"));
  EXPECT_THAT(refusal("pkcs11:object=k"), HasSubstr("names no token"));
  EXPECT_THAT(refusal("pkcs11:token=t"), HasSubstr("names no key"));
  EXPECT_THAT(refusal("pkcs11:token=t;object=k;type=cert"), HasSubstr("type is 'cert'"));
  EXPECT_THAT(refusal("pkcs11:token=t;object=k;slot-id=3"), HasSubstr("'slot-id'"));
  EXPECT_THAT(refusal("pkcs11:token=t;object=k%2"), HasSubstr("two hex digits"));
  EXPECT_THAT(refusal("pkcs11:token=t;object"), HasSubstr("has no '='"));
  EXPECT_THAT(refusal("file:///ca.key"), HasSubstr("starts with 'pkcs11:'"));
}

TEST(Pkcs11Key, GeneratesAKeyThatNeverLeavesTheTokenAndSignsThroughIt) {
  auto& hsm = SoftHsm::instance();
  const auto created = generate_pkcs11_key(uri_for("gen-p256"), hsm.access(), KeyType::ec_p256);
  ASSERT_TRUE(created.id.has_value());
  EXPECT_EQ(created.id->size(), 16U);

  const auto protection = inspect_pkcs11_key(created, hsm.access());
  EXPECT_TRUE(protection.sensitive);
  EXPECT_FALSE(protection.extractable);
  EXPECT_TRUE(protection.always_sensitive);
  EXPECT_TRUE(protection.never_extractable);
  EXPECT_FALSE(protection.value_readable);

  const auto key = load_pkcs11_private_key(uri_for("gen-p256"), hsm.access());
  EXPECT_EQ(describe_key(key.get()).to_string(), "EC P-256");
  // The engine's key cannot be written out: it holds no private scalar.
  EXPECT_THROW(key.to_pem(), CryptoError);
  const auto signature = sign_message(key.get(), "signed inside the token");
  const auto pub = public_half(key);
  ASSERT_TRUE(pub);
  EXPECT_TRUE(verify_message(pub.get(), "signed inside the token", signature));
  EXPECT_FALSE(verify_message(pub.get(), "something else", signature));
}

TEST(Pkcs11Key, GeneratesRsaAndP384Keys) {
  auto& hsm = SoftHsm::instance();
  generate_pkcs11_key(uri_for("gen-p384"), hsm.access(), KeyType::ec_p384);
  generate_pkcs11_key(uri_for("gen-rsa"), hsm.access(), KeyType::rsa_2048);
  for (const auto& [object, expected] :
       {std::pair{"gen-p384", "EC P-384"}, std::pair{"gen-rsa", "RSA 2048"}}) {
    const auto key = load_pkcs11_private_key(uri_for(object), hsm.access());
    EXPECT_EQ(describe_key(key.get()).to_string(), expected);
    const auto pub = public_half(key);
    EXPECT_TRUE(verify_message(pub.get(), "m", sign_message(key.get(), "m"))) << object;
    EXPECT_FALSE(inspect_pkcs11_key(uri_for(object), hsm.access()).value_readable) << object;
  }
}

TEST(Pkcs11Key, RefusesToGenerateOverAnExistingKeyOrAnEd25519Key) {
  auto& hsm = SoftHsm::instance();
  generate_pkcs11_key(uri_for("taken"), hsm.access(), KeyType::ec_p256);
  EXPECT_THAT(
      error_of([&] { generate_pkcs11_key(uri_for("taken"), hsm.access(), KeyType::ec_p256); }),
      HasSubstr("token 'est-main' already holds a private key labelled 'taken'"));
  EXPECT_THAT(
      error_of([&] { generate_pkcs11_key(uri_for("edwards"), hsm.access(), KeyType::ed25519); }),
      HasSubstr("Ed25519"));
}

TEST(Pkcs11Key, WrongPinIsRefusedNamingTheToken) {
  auto& hsm = SoftHsm::instance();
  const auto message = error_of([&] {
    load_pkcs11_private_key(uri_for("any", SoftHsm::kWrongPinToken), hsm.access("not-the-pin"));
  });
  EXPECT_EQ(message, "the PIN for PKCS#11 token 'est-locked-out' is wrong");
  EXPECT_THAT(error_of([&] {
                generate_pkcs11_key(uri_for("k", SoftHsm::kWrongPinToken),
                                    hsm.access("not-the-pin"), KeyType::ec_p256);
              }),
              HasSubstr("PIN for PKCS#11 token 'est-locked-out' is wrong"));
}

TEST(Pkcs11Key, MissingKeyTokenOrModuleIsRefusedByName) {
  auto& hsm = SoftHsm::instance();
  EXPECT_EQ(error_of([&] { load_pkcs11_private_key(uri_for("no-such-key"), hsm.access()); }),
            "PKCS#11 token 'est-main' holds no private key labelled 'no-such-key'");
  EXPECT_EQ(error_of([&] { load_pkcs11_private_key(uri_for("k", "ghost"), hsm.access()); }),
            "no PKCS#11 token labelled 'ghost' is present");
  auto elsewhere = hsm.access();
  elsewhere.module = "/nonexistent/libpkcs11.so";
  EXPECT_THAT(error_of([&] { load_pkcs11_private_key(uri_for("k"), elsewhere); }),
              HasSubstr("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"));
}

TEST(Pkcs11Key, SignsFromManyThreadsAtOnce) {
  auto& hsm = SoftHsm::instance();
  generate_pkcs11_key(uri_for("threads"), hsm.access(), KeyType::ec_p256);
  const auto key = load_pkcs11_private_key(uri_for("threads"), hsm.access());
  const auto pub = public_half(key);
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string message = "thread " + std::to_string(t) + " message " + std::to_string(i);
        try {
          (verify_message(pub.get(), message, sign_message(key.get(), message)) ? good : bad)++;
        } catch (const std::exception&) {
          bad++;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(good.load(), 400);
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace estfleet::crypto
