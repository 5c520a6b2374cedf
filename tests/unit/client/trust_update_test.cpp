// How a device learns the new root after a CA rollover: only through a NewWithOld link that its
// current root verifies, never from an unauthenticated self-signed certificate; and renew installs
// it next to the old root.
#include "client/trust_update.hpp"

#include <gtest/gtest.h>

#include "ca/authority.hpp"
#include "ca/rollover.hpp"
#include "client/errors.hpp"
#include "client/renew.hpp"
#include "common/files.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

class TrustUpdate : public ::testing::Test {
 protected:
  const crypto::TimePoint now_ = std::chrono::system_clock::now();
  ca::NewCa old_ = ca::create_ca(ca::NewCaOptions{}, now_ - hours(24));
  ca::RolledCa rolled_ = ca::roll_over({old_.root, old_.root_key.get(), old_.issuing}, {}, now_);

  // What cacerts answers during the transition.
  std::vector<crypto::Certificate> cacerts() const {
    return {rolled_.next.issuing, rolled_.old_with_new, rolled_.new_with_old, old_.root,
            rolled_.next.root};
  }
  testing::TempDir dir_;
};

TEST_F(TrustUpdate, LearnsTheNewRootThroughNewWithOld) {
  const auto learned = authenticated_new_roots({old_.root}, cacerts(), now_);
  ASSERT_EQ(learned.size(), 1U);
  EXPECT_EQ(learned[0].root.to_der(), rolled_.next.root.to_der());
  EXPECT_EQ(learned[0].link.to_der(), rolled_.new_with_old.to_der());
}

TEST_F(TrustUpdate, NothingToLearnWhenTheRootIsAlreadyTrusted) {
  EXPECT_TRUE(authenticated_new_roots({old_.root, rolled_.next.root}, cacerts(), now_).empty());
  // The other direction is symmetric: OldWithNew authenticates the old root under the new one
  // (renew only installs a root its renewed certificate chains to, so it never adds that one).
  const auto learned = authenticated_new_roots({rolled_.next.root}, cacerts(), now_);
  ASSERT_EQ(learned.size(), 1U);
  EXPECT_EQ(learned[0].root.to_der(), old_.root.to_der());
}

TEST_F(TrustUpdate, NeverTrustsAnUnauthenticatedRoot) {
  // The new chain alone, without the link.
  EXPECT_TRUE(authenticated_new_roots({old_.root}, {rolled_.next.issuing, rolled_.next.root}, now_)
                  .empty());
  // An attacker's root with the new root's name, and a "link" the attacker signed itself.
  auto forged_options = ca::NewCaOptions{};
  forged_options.root_common_name = rolled_.next.root.subject_common_name();
  const auto forged = ca::create_ca(forged_options, now_);
  const auto attacker = ca::create_ca(ca::NewCaOptions{}, now_);
  const auto forged_link = ca::build_link(forged.root, attacker.root, attacker.root_key.get(),
                                          now_ - hours(1), now_ + hours(1));
  EXPECT_TRUE(authenticated_new_roots({old_.root}, {forged.issuing, forged_link, forged.root}, now_)
                  .empty());
  // A genuine NewWithOld does not vouch for another key under the same name.
  EXPECT_TRUE(
      authenticated_new_roots({old_.root}, {rolled_.new_with_old, forged.root}, now_).empty());
  // Nor once it has expired.
  EXPECT_TRUE(
      authenticated_new_roots({old_.root}, cacerts(), old_.issuing.not_after() + hours(1)).empty());
  // Nor with nothing trusted to start from.
  EXPECT_TRUE(authenticated_new_roots({}, cacerts(), now_).empty());
}

// The attack of issue 25: whoever holds the online issuing key (not the offline root) makes an
// "evil root", a link "evil root signed by the issuing CA" and a cross certificate "issuing CA
// signed by the evil root", and serves them with a renewal. A device whose anchor file holds the
// issuing CA (as `cacerts --out` once wrote it) must not take the evil root for a rollover.
class IssuingKeyAttack : public TrustUpdate {
 protected:
  ca::NewCa evil_ = ca::create_ca(ca::NewCaOptions{}, now_);
  crypto::Certificate link_ = ca::build_link(evil_.root, old_.issuing, old_.issuing_key.get(),
                                             now_ - hours(1), now_ + hours(24));
  crypto::Certificate cross_ = ca::build_link(old_.issuing, evil_.root, evil_.root_key.get(),
                                              now_ - hours(1), now_ + hours(24));
  // The cross certificate first: chain building then reaches the evil root through it.
  std::vector<crypto::Certificate> answer() const {
    return {cross_, link_, evil_.root, old_.issuing, old_.root};
  }
};

TEST_F(IssuingKeyAttack, ALinkSignedByTheIssuingCaIsNoRollover) {
  // What makes the attack work at all: the link verifies under the issuing CA taken as an anchor.
  ASSERT_EQ(crypto::TrustStore({old_.issuing, old_.root}).verify(link_, {}, now_), std::nullopt);
  EXPECT_TRUE(authenticated_new_roots({old_.issuing, old_.root}, answer(), now_).empty());
  EXPECT_TRUE(authenticated_new_roots({old_.issuing}, answer(), now_).empty());
  EXPECT_TRUE(authenticated_new_roots({old_.root}, answer(), now_).empty());
}

TEST_F(IssuingKeyAttack, CacertsOutWritesNoRootTheIssuingKeyMade) {
  const auto roots = roots_to_trust({old_.issuing, old_.root}, answer(), now_);
  ASSERT_EQ(roots.size(), 1U);
  EXPECT_EQ(roots[0].sha256_fingerprint(), old_.root.sha256_fingerprint());
}

TEST_F(IssuingKeyAttack, ARenewalAnswerCannotPlantARootInRootCaPem) {
  const ca::Authority issuing_ca(crypto::PrivateKey::from_pem(old_.issuing_key.to_pem()),
                                 {old_.issuing, old_.root});
  const auto folder = dir_.path() / "DeviceAlpha";
  fs::create_directories(folder);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  ca::IssuancePolicy policy;
  policy.validity = hours(1);
  const auto current =
      issuing_ca.issue(ca::IssueRequest{"DeviceAlpha", key.get(), {}, {}, now_}, policy);
  const auto secret = fs::perms::owner_read | fs::perms::owner_write;
  common::write_file_atomically(folder / "private_key.pem", key.to_pem(), secret);
  common::write_file_atomically(folder / "certificate.pem",
                                current.to_pem() + old_.issuing.to_pem(), secret);
  // The anchor file as `cacerts --out` wrote it: the whole answer, issuing CA first.
  const auto polluted = old_.issuing.to_pem() + old_.root.to_pem();
  common::write_file_atomically(folder / "root_ca.pem", polluted, secret);

  RenewTarget target;
  target.name = "DeviceAlpha";
  target.folder = folder;
  RenewOptions options;
  options.ignore_threshold = true;
  const Reenroller attacker = [&](const crypto::Certificate&, const crypto::PrivateKey&,
                                  const crypto::PrivateKey& new_key, const ReenrollRequest&,
                                  const std::string&) {
    const auto renewed =
        issuing_ca.issue(ca::IssueRequest{"DeviceAlpha", new_key.get(), {}, {}, now_}, policy);
    // The renewed certificate chains to the evil root too, as the attack needs.
    EXPECT_EQ(crypto::TrustStore({evil_.root}).verify(renewed, answer(), now_), std::nullopt);
    return Issued{renewed, answer()};
  };
  const auto report = renew_device(target, options, attacker, now_);
  EXPECT_EQ(report.outcome.reason.find("trusts the new root"), std::string::npos)
      << report.outcome.reason;
  const auto anchors =
      crypto::Certificate::chain_from_pem(common::read_file(folder / "root_ca.pem"));
  for (const auto& anchor : anchors) {
    EXPECT_NE(anchor.sha256_fingerprint(), evil_.root.sha256_fingerprint())
        << "the evil root was planted";
  }
}

TEST_F(TrustUpdate, AnAnchorFileHoldsRootsOnly) {
  EXPECT_TRUE(is_self_signed_root(old_.root));
  EXPECT_FALSE(is_self_signed_root(old_.issuing));
  EXPECT_FALSE(is_self_signed_root(rolled_.new_with_old));
  // An anchor file as `cacerts --out` wrote it before: the issuing CA is ignored, not trusted.
  const auto anchors = trust_anchors_from_pem(old_.issuing.to_pem() + old_.root.to_pem());
  ASSERT_EQ(anchors.size(), 1U);
  EXPECT_EQ(anchors[0].to_der(), old_.root.to_der());
  EXPECT_THROW(trust_anchors_from_pem(old_.issuing.to_pem()), ClientError);
  EXPECT_THROW(trust_anchors_from_pem("no certificate here"), ClientError);
}

// `cacerts --out` writes the roots the connection was verified with, and a new root only when
// NewWithOld vouches for it; never the issuing CA.
TEST_F(TrustUpdate, CacertsOutWritesRootsAndANewRootOnlyThroughNewWithOld) {
  const auto ders = [](const std::vector<crypto::Certificate>& certs) {
    std::vector<std::string> out;
    for (const auto& cert : certs) {
      out.push_back(cert.to_der());
    }
    return out;
  };
  EXPECT_EQ(ders(roots_to_trust({old_.root}, {old_.issuing, old_.root}, now_)), ders({old_.root}));
  EXPECT_EQ(ders(roots_to_trust({old_.issuing, old_.root}, {old_.issuing, old_.root}, now_)),
            ders({old_.root}));
  EXPECT_EQ(ders(roots_to_trust({old_.root}, cacerts(), now_)),
            ders({old_.root, rolled_.next.root}));
  EXPECT_EQ(ders(roots_to_trust({old_.root}, {rolled_.next.issuing, rolled_.next.root}, now_)),
            ders({old_.root}))
      << "a new root without its link is not written";
}

TEST_F(TrustUpdate, AddTrustAnchorsAppendsOnceAndKeepsTheOldRoot) {
  const auto file = dir_.path() / "root_ca.pem";
  // An issuing CA in the file (as `cacerts --out` once wrote it) goes when the file is rewritten.
  common::write_file_atomically(file, old_.issuing.to_pem() + old_.root.to_pem(),
                                fs::perms::owner_read | fs::perms::owner_write);
  const auto added = add_trust_anchors(file, {rolled_.next.root});
  ASSERT_EQ(added.size(), 1U);
  const auto anchors = crypto::Certificate::chain_from_pem(common::read_file(file));
  ASSERT_EQ(anchors.size(), 2U);
  EXPECT_EQ(anchors[0].to_der(), old_.root.to_der());
  EXPECT_EQ(anchors[1].to_der(), rolled_.next.root.to_der());
  EXPECT_EQ(testing::file_mode(file), 0644U);
  EXPECT_TRUE(add_trust_anchors(file, {rolled_.next.root, old_.root}).empty());
  EXPECT_EQ(crypto::Certificate::chain_from_pem(common::read_file(file)).size(), 2U);
}

// renew_device with a server that rolled over: the renewed certificate comes from the new
// issuing CA, and the device ends up trusting both roots.
TEST_F(TrustUpdate, RenewAfterRolloverInstallsTheNewRootNextToTheOld) {
  const ca::Authority old_ca(crypto::PrivateKey::from_pem(old_.issuing_key.to_pem()),
                             {old_.issuing, old_.root});
  const ca::Authority new_ca(crypto::PrivateKey::from_pem(rolled_.next.issuing_key.to_pem()),
                             {rolled_.next.issuing, rolled_.next.root});
  const auto folder = dir_.path() / "DeviceAlpha";
  fs::create_directories(folder);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  ca::IssuancePolicy policy;
  policy.validity = hours(1);
  const auto current =
      old_ca.issue(ca::IssueRequest{"DeviceAlpha", key.get(), {}, {}, now_}, policy);
  const auto secret = fs::perms::owner_read | fs::perms::owner_write;
  common::write_file_atomically(folder / "private_key.pem", key.to_pem(), secret);
  common::write_file_atomically(folder / "certificate.pem",
                                current.to_pem() + old_.issuing.to_pem(), secret);
  common::write_file_atomically(folder / "root_ca.pem", old_.root.to_pem(), secret);

  RenewTarget target;
  target.name = "DeviceAlpha";
  target.folder = folder;
  RenewOptions options;
  options.ignore_threshold = true;
  const auto answer = [&](bool with_link) {
    return [&, with_link](const crypto::Certificate&, const crypto::PrivateKey&,
                          const crypto::PrivateKey& new_key, const ReenrollRequest&,
                          const std::string&) {
      auto certs = cacerts();
      if (!with_link) {
        certs = {rolled_.next.issuing, rolled_.next.root};
      }
      return Issued{
          new_ca.issue(ca::IssueRequest{"DeviceAlpha", new_key.get(), {}, {}, now_}, policy),
          certs};
    };
  };
  // Without NewWithOld the new certificate does not chain to anything the device trusts.
  const auto refused = renew_device(target, options, answer(false), now_);
  EXPECT_EQ(refused.outcome.result, DeviceResult::failed);
  EXPECT_EQ(crypto::Certificate::chain_from_pem(common::read_file(folder / "root_ca.pem")).size(),
            1U);

  const auto report = renew_device(target, options, answer(true), now_);
  ASSERT_EQ(report.outcome.result, DeviceResult::renewed) << report.outcome.reason;
  EXPECT_NE(report.outcome.reason.find("trusts the new root CA"), std::string::npos)
      << report.outcome.reason;
  const auto anchors =
      crypto::Certificate::chain_from_pem(common::read_file(folder / "root_ca.pem"));
  ASSERT_EQ(anchors.size(), 2U);
  EXPECT_EQ(anchors[1].to_der(), rolled_.next.root.to_der());
  const auto renewed = crypto::Certificate::from_pem(common::read_file(folder / "certificate.pem"));
  EXPECT_EQ(renewed.issuer_der(), rolled_.next.issuing.subject_der());
  // With only the new root, the installed chain verifies too.
  EXPECT_EQ(crypto::TrustStore({rolled_.next.root}).verify(renewed, {rolled_.next.issuing}, now_),
            std::nullopt);
}

}  // namespace
}  // namespace estfleet::client
