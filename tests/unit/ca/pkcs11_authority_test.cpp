// The CA with its issuing key in a PKCS#11 token (SoftHSM2): certificates and CRLs signed by the
// token verify like any others, and the key is loaded through the same signer as a key file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ca/authority.hpp"
#include "ca/bootstrap.hpp"
#include "ca/signer.hpp"
#include "crypto/crl.hpp"
#include "crypto/pkcs11_key.hpp"
#include "support/softhsm.hpp"
#include "support/test_pki.hpp"

namespace estfleet::ca {
namespace {

using std::chrono::hours;
using testing::SoftHsm;

// A CA whose issuing key is generated in the token under `object`; the chain is written to
// `chain_file` so the signer can load it again.
NewCa token_ca(const std::string& object, crypto::TimePoint now) {
  auto& hsm = SoftHsm::instance();
  const auto uri = crypto::generate_pkcs11_key(
      crypto::Pkcs11Uri::parse(std::string("pkcs11:token=") + SoftHsm::kMainToken +
                               ";object=" + object),
      hsm.access(), crypto::KeyType::ec_p256);
  return create_ca(NewCaOptions{}, now, crypto::load_pkcs11_private_key(uri, hsm.access()));
}

SigningKeySource token_source(const std::string& object) {
  SigningKeySource source;
  source.token_key = crypto::Pkcs11Uri::parse(std::string("pkcs11:token=") + SoftHsm::kMainToken +
                                              ";object=" + object);
  source.access = SoftHsm::instance().access();
  return source;
}

TEST(Pkcs11Authority, IssuesDeviceCertificatesSignedInTheToken) {
  const auto now = std::chrono::system_clock::now();
  auto fresh = token_ca("ca-issue", now);
  EXPECT_TRUE(crypto::is_token_key(fresh.issuing_key.get()));
  const Authority authority(std::move(fresh.issuing_key), {fresh.issuing, fresh.root});
  const auto device_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto cert =
      authority.issue(IssueRequest{"TokenDevice", device_key.get(), {}, {}, now}, IssuancePolicy{});
  EXPECT_EQ(cert.subject_common_name(), "TokenDevice");
  EXPECT_EQ(authority.verify_issued(cert, now), std::nullopt);
  // Independently of our verify: OpenSSL's signature check with the issuing CA's public key.
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(fresh.issuing.get())), 1);
}

TEST(Pkcs11Authority, SignsCrlsInTheToken) {
  const auto now = std::chrono::system_clock::now();
  auto fresh = token_ca("ca-crl", now);
  crypto::CrlSpec spec;
  spec.number = 7;
  spec.this_update = now;
  spec.next_update = now + hours(24);
  spec.entries.push_back({"4A3F", now - hours(1), crypto::CrlReason::keyCompromise});
  const auto crl =
      crypto::Crl::from_der(crypto::sign_crl(spec, fresh.issuing, fresh.issuing_key.get()));
  EXPECT_TRUE(crl.signature_valid(X509_get0_pubkey(fresh.issuing.get())));
  EXPECT_FALSE(crl.signature_valid(X509_get0_pubkey(fresh.root.get())));
  EXPECT_EQ(crl.number(), 7);
  ASSERT_TRUE(crl.find("4A3F").has_value());
}

TEST(Pkcs11Authority, LoadsFromTheTokenThroughTheSigner) {
  const auto now = std::chrono::system_clock::now();
  auto fresh = token_ca("ca-load", now);
  estfleet::testing::TempDir dir;
  const auto chain_file = dir.path() / "chain.pem";
  std::ofstream(chain_file) << fresh.issuing.to_pem() << fresh.root.to_pem();

  const auto authority = load_authority(token_source("ca-load"), chain_file);
  EXPECT_TRUE(crypto::is_token_key(authority.issuing_key()));
  const auto device_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto cert =
      authority.issue(IssueRequest{"Loaded", device_key.get(), {}, {}, now}, IssuancePolicy{});
  EXPECT_EQ(authority.verify_issued(cert, now), std::nullopt);
  EXPECT_EQ(token_source("ca-load").describe(), "object 'ca-load' in PKCS#11 token 'est-main'");
}

TEST(Pkcs11Authority, RefusesATokenKeyThatDoesNotMatchTheChain) {
  const auto now = std::chrono::system_clock::now();
  auto fresh = token_ca("ca-mismatch-a", now);
  token_ca("ca-mismatch-b", now);
  estfleet::testing::TempDir dir;
  const auto chain_file = dir.path() / "chain.pem";
  std::ofstream(chain_file) << fresh.issuing.to_pem() << fresh.root.to_pem();
  try {
    load_authority(token_source("ca-mismatch-b"), chain_file);
    FAIL() << "a token key that is not the chain's was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("object 'ca-mismatch-b' in PKCS#11 token"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("does not match"));
  }
}

TEST(Pkcs11Authority, ReportsAMissingTokenKeyByName) {
  estfleet::testing::TempDir dir;
  try {
    load_authority(token_source("never-created"), dir.path() / "chain.pem");
    FAIL() << "a missing token key was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("holds no private key labelled 'never-created'"));
  }
}

}  // namespace
}  // namespace estfleet::ca
