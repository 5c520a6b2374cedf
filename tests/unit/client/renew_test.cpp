#include "client/renew.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "client/errors.hpp"
#include "client/provision.hpp"
#include "client/responses.hpp"
#include "common/files.hpp"
#include "policy/iot_details.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using crypto::Certificate;
using crypto::KeyType;
using crypto::PrivateKey;
using crypto::TimePoint;

constexpr auto kSecretMode = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto kPublicMode = kSecretMode | fs::perms::group_read | fs::perms::others_read;

// A root and an issuing CA valid for years, issuing device certificates for chosen times.
struct Ca {
  static crypto::CertificateSpec spec(const std::string& cn, const EVP_PKEY* key, bool ca,
                                      TimePoint not_before, TimePoint not_after) {
    static unsigned serial = 0;
    crypto::CertificateSpec s;
    ++serial;
    s.serial =
        std::string{static_cast<char>(serial / 200 + 1), static_cast<char>(serial % 200 + 1)};
    s.subject_der = crypto::name_der({{"CN", cn}});
    s.public_key = key;
    s.not_before = not_before;
    s.not_after = not_after;
    s.is_ca = ca;
    s.key_usage = ca ? std::vector<std::string>{"keyCertSign", "cRLSign"}
                     : std::vector<std::string>{"digitalSignature"};
    return s;
  }
  static TimePoint now() { return std::chrono::system_clock::now(); }

  PrivateKey root_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate root = sign_certificate(
      spec("Root", root_key.get(), true, now() - 24h, now() + 24h * 3650), nullptr, root_key.get());
  PrivateKey issuing_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate issuing =
      sign_certificate(spec("Issuing", issuing_key.get(), true, now() - 24h, now() + 24h * 3650),
                       &root, root_key.get());

  Certificate issue(const EVP_PKEY* key, const std::string& cn, TimePoint not_before,
                    std::chrono::seconds lifetime) const {
    return sign_certificate(spec(cn, key, false, not_before, not_before + lifetime), &issuing,
                            issuing_key.get());
  }
  // certificate.pem as provision writes it: the device certificate, then the issuing CA.
  std::string chain_pem(const Certificate& certificate) const {
    return certificate.to_pem() + issuing.to_pem();
  }
};

// The public key of whatever the folder's two names lead to, read like a plain reader would.
std::string public_of_key_file(const fs::path& file) {
  return PrivateKey::from_pem(common::read_file(file)).public_key_der();
}
std::string public_of_certificate_file(const fs::path& file) {
  return crypto::public_key_der(Certificate::from_pem(common::read_file(file)).public_key());
}

// Everything in a folder, with contents, to prove that nothing changed.
// Unless `exact`, the lock file (which a renewal may leave, empty) is not counted.
std::map<std::string, std::string> snapshot(const fs::path& folder, bool exact = false) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    const auto name = fs::relative(entry.path(), folder).string();
    if (name == ".renew.lock" && !exact) {
      continue;
    }
    files[name] = entry.is_symlink()        ? "-> " + fs::read_symlink(entry.path()).string()
                  : entry.is_regular_file() ? common::read_file(entry.path())
                                            : "<dir>";
  }
  return files;
}

class Renew : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = tmp_.path() / "DeviceAlpha";
    fs::create_directories(folder_);
    fs::permissions(folder_, fs::perms::owner_all);  // as provision makes it
    issued_at_ = std::chrono::time_point_cast<std::chrono::seconds>(Ca::now()) - 10s;
    install_plain(issued_at_, 100s);
  }
  // A pair the way provision leaves it: plain files, written when the certificate arrived
  // (`received`, else at its notBefore).
  void install_plain(TimePoint not_before, std::chrono::seconds lifetime,
                     std::optional<TimePoint> received = std::nullopt) {
    current_ = ca_.issue(key_.get(), "DeviceAlpha", not_before, lifetime);
    common::write_file_atomically(folder_ / "private_key.pem", key_.to_pem(), kSecretMode);
    common::write_file_atomically(folder_ / "certificate.pem", ca_.chain_pem(current_),
                                  kPublicMode);
    common::write_file_atomically(folder_ / "root_ca.pem", ca_.root.to_pem(), kPublicMode);
    fs::last_write_time(folder_ / "certificate.pem",
                        std::chrono::file_clock::from_sys(received.value_or(not_before)));
  }
  RenewTarget target() const {
    RenewTarget t;
    t.name = "DeviceAlpha";
    t.folder = folder_;
    t.thing_name = "DeviceAlpha";
    policy::IotDetails details;
    details.thing_name = "DeviceAlpha";
    t.extensions = device_extensions(details, "local");
    return t;
  }
  // Issues every request for 100 s from `now`, and remembers what was asked.
  Reenroller issuing() {
    return
        [this](const Certificate& current, const PrivateKey& current_key, const PrivateKey& new_key,
               const ReenrollRequest& request, const std::string& anchors) {
          EXPECT_TRUE(current.matches_private_key(current_key.get()));
          requests_.push_back(request);
          new_keys_.push_back(new_key.public_key_der());
          anchors_.push_back(anchors);
          const auto now = std::chrono::time_point_cast<std::chrono::seconds>(issue_clock_());
          return Issued{ca_.issue(new_key.get(), current.subject_common_name(), now, 100s),
                        {ca_.issuing, ca_.root}};
        };
  }
  TimePoint due() const { return issued_at_ + 80s; }

  testing::TempDir tmp_;
  fs::path folder_;
  Ca ca_;
  PrivateKey key_ = PrivateKey::generate(KeyType::ec_p256);
  Certificate current_ = ca_.root;
  TimePoint issued_at_;
  std::function<TimePoint()> issue_clock_ = Ca::now;  // when issuing() issues
  std::vector<ReenrollRequest> requests_;
  std::vector<std::string> new_keys_;
  std::vector<std::string> anchors_;
};

TEST_F(Renew, BeforeTheThresholdNothingHappens) {
  const auto before = snapshot(folder_);
  const auto report = renew_device(target(), {}, issuing(), due() - 1s);
  EXPECT_EQ(report.outcome.result, DeviceResult::skipped);
  EXPECT_EQ(report.outcome.serial, current_.serial_hex());
  EXPECT_EQ(report.next_due, due());
  EXPECT_NE(report.outcome.reason.find("not due until " + utc_text(due()) + " (threshold 80%)"),
            std::string::npos)
      << report.outcome.reason;
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(snapshot(folder_), before);
}

TEST_F(Renew, PastTheThresholdANewKeyIsCertifiedAndSwappedIn) {
  const auto report = renew_device(target(), {}, issuing(), due());
  ASSERT_EQ(report.outcome.result, DeviceResult::renewed) << report.outcome.reason;
  ASSERT_EQ(requests_.size(), 1U);
  // mTLS with the installed chain; the CSR carries the device's IoT details; anchors = root_ca.pem.
  EXPECT_EQ(requests_[0].client_chain_pem, ca_.chain_pem(current_));
  ASSERT_EQ(requests_[0].extensions.size(), 2U);
  EXPECT_EQ(requests_[0].extensions[0].oid, policy::kIotDetailsOid);
  EXPECT_EQ(anchors_[0], ca_.root.to_pem());
  EXPECT_NE(new_keys_[0], key_.public_key_der()) << "a new key by default";

  const auto renewed = Certificate::from_pem(common::read_file(folder_ / "certificate.pem"));
  EXPECT_EQ(renewed.serial_hex(), report.outcome.serial);
  EXPECT_NE(renewed.serial_hex(), current_.serial_hex());
  EXPECT_EQ(public_of_key_file(folder_ / "private_key.pem"), new_keys_[0]);
  EXPECT_EQ(public_of_certificate_file(folder_ / "certificate.pem"), new_keys_[0]);
  EXPECT_EQ(common::read_file(folder_ / "certificate.pem"), ca_.chain_pem(renewed));
  EXPECT_EQ(testing::file_mode(folder_ / "private_key.pem"), 0600U);
  // The previous pair stays as *.prev until the next renewal.
  EXPECT_EQ(common::read_file(folder_ / "private_key.pem.prev"), key_.to_pem());
  EXPECT_EQ(common::read_file(folder_ / "certificate.pem.prev"), ca_.chain_pem(current_));
  EXPECT_FALSE(fs::exists(renewing_key_path(target())));
  // 80% of the lifetime from when the new certificate was written.
  const auto received = written_at(folder_ / "certificate.pem");
  ASSERT_TRUE(received);
  EXPECT_EQ(report.next_due, *received + (renewed.not_after() - *received) * 4 / 5);
  EXPECT_FALSE(report.misconfiguration);
  EXPECT_NE(report.outcome.reason.find("replaced serial " + current_.serial_hex()),
            std::string::npos);
}

// Issue 18's storm: validity 12 s with est-server's default backdate of 5 min. Counted from
// notBefore the certificate was due 50 s before it arrived; counted from its arrival it is due
// 9.6 s later.
TEST_F(Renew, TheDueTimeCountsFromArrivalNotFromABackdatedNotBefore) {
  const auto arrived = issued_at_;
  install_plain(arrived - 5min, 5min + 12s, arrived);
  const auto report = renew_device(target(), {}, issuing(), arrived + 1s);
  EXPECT_EQ(report.outcome.result, DeviceResult::skipped) << report.outcome.reason;
  EXPECT_EQ(report.next_due, arrived + 9600ms);
  EXPECT_TRUE(requests_.empty());
  // A certificate file that holds no credible time (copied, restored) falls back to notBefore.
  install_plain(arrived - 5min, 5min + 12s, arrived - 1h);
  EXPECT_EQ(renew_device(target(), {}, issuing(), arrived + 1s).outcome.result,
            DeviceResult::renewed);
}

TEST_F(Renew, AThresholdBeforeTheFloorWaitsForTheFloorAndSaysWhy) {
  RenewOptions options;
  options.threshold = RenewalThreshold::parse("5%");
  const auto report = renew_device(target(), options, issuing(), issued_at_ + 6s);
  EXPECT_EQ(report.outcome.result, DeviceResult::skipped);
  EXPECT_EQ(report.next_due, issued_at_ + 10s) << "a tenth of the 100-second lifetime";
  ASSERT_TRUE(report.misconfiguration);
  EXPECT_NE(report.outcome.reason.find("(the renewal floor: the certificate is valid for 100s"),
            std::string::npos)
      << report.outcome.reason;
  EXPECT_EQ(renew_device(target(), options, issuing(), issued_at_ + 10s).outcome.result,
            DeviceResult::renewed);
}

TEST_F(Renew, KeepKeyRenewsTheSameKey) {
  RenewOptions options;
  options.keep_key = true;
  ASSERT_EQ(renew_device(target(), options, issuing(), due()).outcome.result,
            DeviceResult::renewed);
  EXPECT_EQ(new_keys_.at(0), key_.public_key_der());
  EXPECT_EQ(public_of_key_file(folder_ / "private_key.pem"), key_.public_key_der());
}

TEST_F(Renew, NowIgnoresTheThresholdAndDurationsCountFromExpiry) {
  RenewOptions options;
  options.threshold = RenewalThreshold::parse("30s");
  EXPECT_EQ(renew_device(target(), options, issuing(), issued_at_ + 69s).outcome.result,
            DeviceResult::skipped);
  options.ignore_threshold = true;
  EXPECT_EQ(renew_device(target(), options, issuing(), issued_at_ + 69s).outcome.result,
            DeviceResult::renewed);
}

TEST_F(Renew, ACertificateDatedByAServerClockALittleAheadIsAccepted) {
  // The server dates a certificate at its clock's second, which may come after the device read its
  // clock before the request (or run a little ahead): up to five minutes is tolerated.
  issue_clock_ = [] { return Ca::now() + 4min; };
  RenewOptions options;
  options.ignore_threshold = true;
  const auto report = renew_device(target(), options, issuing(), Ca::now());
  EXPECT_EQ(report.outcome.result, DeviceResult::renewed) << report.outcome.reason;
}

TEST_F(Renew, ACertificateThatStartsLaterIsRefusedAndThePairStays) {
  issue_clock_ = [] { return Ca::now() + 1h; };
  RenewOptions options;
  options.ignore_threshold = true;
  const auto before = public_of_certificate_file(folder_ / "certificate.pem");
  const auto report = renew_device(target(), options, issuing(), Ca::now());
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_NE(report.outcome.reason.find("not yet valid"), std::string::npos)
      << report.outcome.reason;
  EXPECT_EQ(public_of_certificate_file(folder_ / "certificate.pem"), before);
}

TEST_F(Renew, OnlyTheCurrentAndThePreviousGenerationStay) {
  const auto t = target();
  for (int i = 0; i < 5; ++i) {
    RenewOptions options;
    options.ignore_threshold = true;
    const auto report = renew_device(t, options, issuing(), Ca::now());
    ASSERT_EQ(report.outcome.result, DeviceResult::renewed)
        << "renewal " << i + 1 << ": " << report.outcome.reason;
  }
  std::set<std::string> generations;
  for (const auto& entry : fs::directory_iterator(folder_)) {
    if (entry.path().filename().string().rfind("gen-", 0) == 0) {
      generations.insert(entry.path().filename().string());
    }
  }
  // gen-1 is the pair provision wrote, gen-2..gen-6 the five renewals.
  EXPECT_EQ(generations, (std::set<std::string>{"gen-5", "gen-6"}));
  EXPECT_EQ(fs::read_symlink(folder_ / "current"), "gen-6");
  EXPECT_EQ(fs::read_symlink(folder_ / "previous"), "gen-5");
  EXPECT_EQ(public_of_key_file(folder_ / "private_key.pem.prev"),
            public_of_certificate_file(folder_ / "certificate.pem.prev"));
}

TEST_F(Renew, AnExpiredCertificateSaysToEnrollAgainAndChangesNothing) {
  const auto before = snapshot(folder_, true);
  const auto report = renew_device(target(), {}, issuing(), current_.not_after() + 1s);
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_TRUE(report.expired);
  EXPECT_EQ(report.outcome.reason,
            "the certificate expired at " + utc_text(current_.not_after()) +
                " and can no longer authenticate a renewal over mTLS: enroll the device again "
                "with its bootstrap credentials (est-client provision --force); nothing was "
                "changed");
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(snapshot(folder_, true), before) << "not even a lock file";
}

TEST_F(Renew, RefusalsAndBadAnswersLeaveThePairInPlace) {
  struct Case {
    const char* what;
    Reenroller reenroll;
    const char* reason;
  };
  const auto other_key = PrivateKey::generate(KeyType::ec_p256);
  const Ca stranger;
  const std::vector<Case> cases{
      {"refused",
       [](auto&&...) -> Issued {
         throw ServerRefused(403, "the TLS client certificate has been revoked");
       },
       "the TLS client certificate has been revoked"},
      {"server down",
       [](auto&&...) -> Issued {
         throw ClientError("cannot connect to localhost:1: Connection refused");
       },
       "Connection refused"},
      {"wrong key",
       [&](const Certificate& current, auto&&...) {
         return Issued{ca_.issue(other_key.get(), current.subject_common_name(), Ca::now(), 100s),
                       {ca_.issuing}};
       },
       "does not match the key it was requested for"},
      {"wrong subject",
       [&](const Certificate&, const PrivateKey&, const PrivateKey& new_key, auto&&...) {
         return Issued{ca_.issue(new_key.get(), "DeviceBeta", Ca::now(), 100s), {ca_.issuing}};
       },
       "not for the subject being renewed"},
      {"another CA",
       [&](const Certificate& current, const PrivateKey&, const PrivateKey& new_key, auto&&...) {
         return Issued{
             stranger.issue(new_key.get(), current.subject_common_name(), Ca::now(), 100s),
             {stranger.issuing}};
       },
       "does not chain to the trust anchor"},
  };
  for (const auto& c : cases) {
    const auto pair_before = read_pair(folder_);
    const auto report = renew_device(target(), {}, c.reenroll, due());
    EXPECT_EQ(report.outcome.result, DeviceResult::failed) << c.what;
    EXPECT_FALSE(report.expired) << c.what;
    EXPECT_NE(report.outcome.reason.find(c.reason), std::string::npos)
        << c.what << ": " << report.outcome.reason;
    const auto pair_after = read_pair(folder_);
    ASSERT_TRUE(pair_after);
    EXPECT_EQ(pair_after->key_pem, pair_before->key_pem) << c.what;
    EXPECT_EQ(pair_after->certificate_pem, pair_before->certificate_pem) << c.what;
    EXPECT_FALSE(fs::exists(folder_ / "current")) << c.what << ": no generation was installed";
  }
}

TEST_F(Renew, BrokenInstallationsAreReportedNotRenewed) {
  auto t = target();
  t.thing_name = "DeviceBeta";
  EXPECT_NE(renew_device(t, {}, issuing(), due())
                .outcome.reason.find("is for CN 'DeviceAlpha', not for the ThingName DeviceBeta"),
            std::string::npos);
  common::write_file_atomically(folder_ / "private_key.pem",
                                PrivateKey::generate(KeyType::ec_p256).to_pem(), kSecretMode);
  EXPECT_EQ(renew_device(target(), {}, issuing(), due()).outcome.reason,
            "certificate.pem does not match private_key.pem");
  fs::remove(folder_ / "certificate.pem");
  EXPECT_NE(renew_device(target(), {}, issuing(), due())
                .outcome.reason.find("certificate.pem is missing while private_key.pem is there"),
            std::string::npos);
  fs::remove(folder_ / "private_key.pem");
  EXPECT_NE(renew_device(target(), {}, issuing(), due())
                .outcome.reason.find("enroll the device first (est-client provision)"),
            std::string::npos);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, APendingRenewalKeepsItsKeyForTheNextAttempt) {
  std::vector<std::string> asked;
  const Reenroller pending = [&](const Certificate&, const PrivateKey&, const PrivateKey& new_key,
                                 auto&&...) -> Issued {
    asked.push_back(new_key.public_key_der());
    throw StillPending(7s, "pending");
  };
  const auto first = renew_device(target(), {}, pending, due());
  EXPECT_EQ(first.outcome.result, DeviceResult::pending);
  EXPECT_EQ(first.retry_after, 7s);
  EXPECT_EQ(testing::file_mode(renewing_key_path(target())), 0600U);
  renew_device(target(), {}, pending, due());
  ASSERT_EQ(asked.size(), 2U);
  EXPECT_EQ(asked[0], asked[1]) << "the same public key is asked for again";
  ASSERT_EQ(renew_device(target(), {}, issuing(), due()).outcome.result, DeviceResult::renewed);
  EXPECT_EQ(new_keys_.at(0), asked[0]) << "and certified once approved";
  EXPECT_FALSE(fs::exists(renewing_key_path(target())));
}

TEST_F(Renew, TheNewKeyIsOnDiskBeforeTheRequestAndALostAnswerIsAskedForAgainWithIt) {
  // Like est-server: a key it certified already gets the same certificate again.
  std::map<std::string, Certificate> certified;
  bool drop_answer = true;
  const Reenroller server = [&](const Certificate& current, const PrivateKey&,
                                const PrivateKey& new_key, auto&&...) -> Issued {
    const auto saved = renewing_key_path(target());
    EXPECT_EQ(testing::file_mode(saved), 0600U) << "saved before it is sent";
    EXPECT_EQ(public_of_key_file(saved), new_key.public_key_der());
    auto known = certified.find(new_key.public_key_der());
    if (known == certified.end()) {
      known = certified
                  .emplace(new_key.public_key_der(),
                           ca_.issue(new_key.get(), current.subject_common_name(), Ca::now(), 100s))
                  .first;
    }
    if (drop_answer) {  // issued, but the answer never arrives
      drop_answer = false;
      throw ClientError("cannot read the answer of localhost:8443: Connection reset by peer");
    }
    return Issued{known->second, {ca_.issuing, ca_.root}};
  };
  const auto before = snapshot(folder_);
  const auto lost = renew_device(target(), {}, server, due());
  EXPECT_EQ(lost.outcome.result, DeviceResult::failed);
  auto after = snapshot(folder_);
  EXPECT_EQ(after.erase(renewing_key_path(target()).filename().string()), 1U);
  EXPECT_EQ(after, before) << "only the renewing key was written";

  const auto retry = renew_device(target(), {}, server, due());
  ASSERT_EQ(retry.outcome.result, DeviceResult::renewed) << retry.outcome.reason;
  ASSERT_EQ(certified.size(), 1U) << "the retry asked for the same key";
  EXPECT_EQ(retry.outcome.serial, certified.begin()->second.serial_hex());
  EXPECT_EQ(public_of_key_file(folder_ / "private_key.pem"), certified.begin()->first);
  EXPECT_FALSE(fs::exists(renewing_key_path(target())));
}

TEST_F(Renew, ARenewingKeyAlreadyInstalledIsNotAskedForAgain) {
  // A renewal swapped the pair in, then the device lost power before removing the renewing key.
  common::write_file_atomically(renewing_key_path(target()), key_.to_pem(), kSecretMode);
  ASSERT_EQ(renew_device(target(), {}, issuing(), due()).outcome.result, DeviceResult::renewed);
  ASSERT_EQ(new_keys_.size(), 1U);
  EXPECT_NE(new_keys_[0], key_.public_key_der()) << "a fresh key, not the installed one";
  EXPECT_FALSE(fs::exists(renewing_key_path(target())));
}

// What is already in the device folder is not trusted (see ProvisionFolders).
TEST_F(Renew, ARenewingKeyTheClientDidNotWriteIsRefused) {
  const auto planted = PrivateKey::generate(KeyType::ec_p256);
  common::write_file_atomically(renewing_key_path(target()), planted.to_pem(), kPublicMode);
  const auto report = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_NE(report.outcome.reason.find("private_key.pem.renewing has mode 0644"), std::string::npos)
      << report.outcome.reason;
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(common::read_file(renewing_key_path(target())), planted.to_pem());

  fs::remove(renewing_key_path(target()));
  common::write_file_atomically(tmp_.path() / "planted.pem", planted.to_pem(), kSecretMode);
  fs::create_symlink(tmp_.path() / "planted.pem", renewing_key_path(target()));
  const auto linked = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(linked.outcome.result, DeviceResult::failed);
  EXPECT_NE(linked.outcome.reason.find("is a symbolic link"), std::string::npos)
      << linked.outcome.reason;
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, ADeviceFolderOthersMayWriteOrThatIsALinkIsRefused) {
  fs::permissions(folder_, fs::perms::owner_all | fs::perms::group_all);
  const auto writable = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(writable.outcome.result, DeviceResult::failed);
  EXPECT_NE(writable.outcome.reason.find("others may write into it"), std::string::npos)
      << writable.outcome.reason;
  fs::permissions(folder_, fs::perms::owner_all);

  auto linked = target();
  linked.folder = tmp_.path() / "link";
  fs::create_directory_symlink(folder_, linked.folder);
  const auto report = renew_device(linked, {}, issuing(), due());
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_NE(report.outcome.reason.find("is a symbolic link"), std::string::npos)
      << report.outcome.reason;
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, TheLockFileIsNotFollowedThroughALink) {
  fs::create_symlink(tmp_.path() / "victim", folder_ / ".renew.lock");
  const auto report = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_NE(report.outcome.reason.find(".renew.lock"), std::string::npos) << report.outcome.reason;
  EXPECT_FALSE(fs::exists(tmp_.path() / "victim")) << "created through the link";
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, AFolderOrRenewingKeyOfAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file to another user";
  }
  constexpr uid_t kNobody = 65534;
  const auto planted = PrivateKey::generate(KeyType::ec_p256);
  common::write_file_atomically(renewing_key_path(target()), planted.to_pem(), kSecretMode);
  ASSERT_EQ(::chown(renewing_key_path(target()).c_str(), kNobody, kNobody), 0);
  const auto key = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(key.outcome.result, DeviceResult::failed);
  EXPECT_NE(key.outcome.reason.find("belongs to uid 65534"), std::string::npos)
      << key.outcome.reason;

  fs::remove(renewing_key_path(target()));
  ASSERT_EQ(::chown(folder_.c_str(), kNobody, kNobody), 0);
  const auto folder = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(folder.outcome.result, DeviceResult::failed);
  EXPECT_NE(folder.outcome.reason.find("belongs to uid 65534"), std::string::npos)
      << folder.outcome.reason;
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, AnotherRenewalHoldingTheLockIsNotRaced) {
  const auto lock = FolderLock::try_lock(folder_);
  ASSERT_TRUE(lock);
  const auto report = renew_device(target(), {}, issuing(), due());
  EXPECT_EQ(report.outcome.result, DeviceResult::failed);
  EXPECT_EQ(report.outcome.reason, "another est-client renew is renewing this device right now");
  EXPECT_TRUE(requests_.empty());
}

TEST_F(Renew, OutFilesLeaveTheCurrentPairAlone) {
  auto t = target();
  t.out_key = tmp_.path() / "new" / "key.pem";
  t.out_certificate = tmp_.path() / "new" / "cert.pem";
  const auto before = snapshot(folder_);
  ASSERT_EQ(renew_device(t, {}, issuing(), due()).outcome.result, DeviceResult::renewed);
  EXPECT_EQ(snapshot(folder_), before);
  EXPECT_EQ(public_of_key_file(*t.out_key), public_of_certificate_file(*t.out_certificate));
  EXPECT_EQ(testing::file_mode(*t.out_key), 0600U);
}

// The point of the generation layout: while pairs are replaced over and over, a reader never
// finds a missing file or a key and certificate that do not belong together.
TEST(InstallPair, AReaderNeverSeesAMismatchedPair) {
  testing::TempDir tmp;
  const auto& folder = tmp.path();
  const Ca ca;
  std::vector<std::pair<std::string, std::string>> pairs;  // key PEM, certificate PEM
  for (int i = 0; i < 4; ++i) {
    const auto key = PrivateKey::generate(KeyType::ec_p256);
    pairs.emplace_back(key.to_pem(),
                       ca.chain_pem(ca.issue(key.get(), "DeviceAlpha", Ca::now(), 3600s)));
  }
  // Start from plain files, as provision leaves them: the first install migrates them.
  common::write_file_atomically(folder / "private_key.pem", pairs[0].first, kSecretMode);
  common::write_file_atomically(folder / "certificate.pem", pairs[0].second, kPublicMode);
  const auto matches = [&](const std::string& key_pem, const std::string& certificate_pem) {
    for (const auto& pair : pairs) {
      if (pair.first == key_pem) {
        return pair.second == certificate_pem;
      }
    }
    return false;
  };

  std::atomic<bool> done{false};
  std::atomic<int> consistent_reads{0};
  std::atomic<int> plain_reads{0};
  std::vector<std::string> problems;
  std::mutex problems_mutex;
  const auto problem = [&](const std::string& text) {
    const std::lock_guard lock(problems_mutex);
    problems.push_back(text);
  };
  // Reader 1: read_pair, which resolves `current` once.
  std::thread pair_reader([&] {
    while (!done) {
      try {
        const auto pair = read_pair(folder);
        if (!pair) {
          problem("read_pair found no pair");
        } else if (!matches(pair->key_pem, pair->certificate_pem)) {
          problem("read_pair returned a mismatched pair from " + pair->generation);
        }
        ++consistent_reads;
      } catch (const std::exception& e) {
        problem(std::string("read_pair: ") + e.what());
      }
    }
  });
  // Reader 2: a plain reader of the two names, which accepts a read only when `current` did not
  // change while it read (the check the docs give such readers).
  std::thread plain_reader([&] {
    while (!done) {
      std::error_code ec;
      const auto before = fs::read_symlink(folder / "current", ec);
      std::string key_pem;
      std::string certificate_pem;
      try {
        key_pem = common::read_file(folder / "private_key.pem");
        certificate_pem = common::read_file(folder / "certificate.pem");
      } catch (const std::exception& e) {
        // A generation is removed two renewals after it stopped being current: a reader that was
        // overtaken by two renewals finds it gone, which is only a problem if `current` held still.
        std::error_code ec_after;
        if (!ec && fs::read_symlink(folder / "current", ec_after) == before && !ec_after) {
          problem(std::string("a file was missing: ") + e.what());
        }
        continue;
      }
      std::error_code ec_after;
      const auto after = fs::read_symlink(folder / "current", ec_after);
      if (!ec && !ec_after && before == after && !matches(key_pem, certificate_pem)) {
        problem("the two names led to a mismatched pair in " + before.string());
      }
      ++plain_reads;
    }
  });
  for (int i = 1; i <= 300; ++i) {
    const auto& pair = pairs[static_cast<std::size_t>(i) % pairs.size()];
    install_pair(folder, pair.first, pair.second);
  }
  done = true;
  pair_reader.join();
  plain_reader.join();
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
  EXPECT_GT(consistent_reads.load(), 0);
  EXPECT_GT(plain_reads.load(), 0);
  EXPECT_EQ(common::read_file(folder / "private_key.pem"), pairs[300 % pairs.size()].first);
  EXPECT_EQ(common::read_file(folder / "private_key.pem.prev"), pairs[299 % pairs.size()].first);
}

// --watch against a simulated clock: sleeps until due, retries with bounded backoff, honours
// Retry-After, stops when asked.
TEST_F(Renew, WatchRenewsWhenDueRetriesAndHonoursRetryAfter) {
  TimePoint clock = issued_at_;
  std::vector<std::string> lines;
  std::vector<TimePoint> sleeps;
  WatchHooks hooks;
  hooks.now = [&] { return clock; };
  hooks.sleep_until = [&](TimePoint until) {
    sleeps.push_back(until);
    clock = std::max(clock, until);
    return sleeps.size() < 5;  // stops at the sleep after the renewal
  };
  hooks.log = [&](const std::string& line) { lines.push_back(line); };
  int calls = 0;
  issue_clock_ = [&] { return clock; };
  const auto issue = issuing();
  const Reenroller flaky = [&](const Certificate& current, const PrivateKey& current_key,
                               const PrivateKey& new_key, const ReenrollRequest& request,
                               const std::string& anchors) -> Issued {
    ++calls;
    if (calls <= 2) {
      throw ClientError("cannot connect to localhost:8443: Connection refused");
    }
    if (calls == 3) {
      throw StillPending(7s, "pending");
    }
    return issue(current, current_key, new_key, request, anchors);
  };
  WatchOptions options;
  options.retry_min = 2s;
  options.retry_max = 60s;
  std::mt19937_64 random(7);
  watch({target()}, {}, options, flaky, hooks, random);

  ASSERT_GE(sleeps.size(), 5U);
  EXPECT_EQ(sleeps[0], due()) << "first it sleeps until the threshold";
  // Two failures: the first retry in [2 s, 2 s], the second in [2 s, 4 s], both before expiry.
  EXPECT_EQ(sleeps[1] - sleeps[0], 2s);
  EXPECT_GE(sleeps[2] - sleeps[1], 2s);
  EXPECT_LE(sleeps[2] - sleeps[1], 4s);
  EXPECT_EQ(sleeps[3] - sleeps[2], 7s) << "Retry-After is honoured";
  EXPECT_EQ(calls, 4);
  // Renewed at sleeps[3]: the next sleep is the new certificate's threshold, 80 s after issue.
  EXPECT_GE(sleeps[4] - sleeps[3], 79s);
  EXPECT_LE(sleeps[4] - sleeps[3], 81s);
  ASSERT_GE(lines.size(), 5U);
  EXPECT_NE(lines[0].find(" DeviceAlpha waiting next=" + utc_text(due())), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find(" DeviceAlpha retry next="), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("attempt 1 failed: cannot connect"), std::string::npos) << lines[1];
  EXPECT_NE(lines[3].find(" DeviceAlpha pending next=" + utc_text(sleeps[3])), std::string::npos)
      << lines[3];
  EXPECT_NE(lines[4].find(" DeviceAlpha renewed next="), std::string::npos) << lines[4];
}

// --watch bounds a 202's Retry-After: "0" (or a date in the past) does not make it ask again at
// once, and a huge one does not park the device past its certificate's expiry.
TEST_F(Renew, WatchBoundsRetryAfterBetweenAFloorAndTheExpiry) {
  for (const auto retry_after : {0s, std::chrono::seconds(kLongestRetryAfter)}) {
    TimePoint clock = due();
    std::vector<TimePoint> sleeps;
    std::vector<std::string> lines;
    WatchHooks hooks;
    hooks.now = [&] { return clock; };
    hooks.sleep_until = [&](TimePoint until) {
      sleeps.push_back(until);
      clock = std::max(clock, until);
      return false;
    };
    hooks.log = [&](const std::string& line) { lines.push_back(line); };
    const Reenroller pending = [&](const Certificate&, const PrivateKey&, const PrivateKey&,
                                   const ReenrollRequest&, const std::string&) -> Issued {
      throw StillPending(retry_after, "pending");
    };
    std::mt19937_64 random(7);
    watch({target()}, {}, {}, pending, hooks, random);
    ASSERT_EQ(sleeps.size(), 1U);
    if (retry_after == 0s) {
      EXPECT_EQ(sleeps[0] - due(), 5s) << "Retry-After: 0 waits the floor";
    } else {
      // 20 s were left at due(): half of that, as a failed renewal waits.
      EXPECT_EQ(sleeps[0] - due(), 10s) << "a huge Retry-After is cut before the expiry";
    }
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find(" DeviceAlpha pending next=" + utc_text(sleeps[0])),
              std::string::npos)
        << lines.back();
  }
}

TEST_F(Renew, WatchDoesNotRetryAnExpiredCertificateInALoop) {
  TimePoint clock = current_.not_after() + 1s;
  std::vector<TimePoint> sleeps;
  std::vector<std::string> lines;
  WatchHooks hooks;
  hooks.now = [&] { return clock; };
  hooks.sleep_until = [&](TimePoint until) {
    sleeps.push_back(until);
    clock = until;
    return sleeps.size() < 2;
  };
  hooks.log = [&](const std::string& line) { lines.push_back(line); };
  WatchOptions options;
  options.retry_max = 600s;
  std::mt19937_64 random(7);
  watch({target()}, {}, options, issuing(), hooks, random);
  EXPECT_TRUE(requests_.empty());
  ASSERT_EQ(sleeps.size(), 2U);
  EXPECT_EQ(sleeps[0], current_.not_after() + 1s + 600s) << "looked at again after retry_max";
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find(" DeviceAlpha expired next="), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("est-client provision --force"), std::string::npos) << lines[0];
}

// A threshold that makes every certificate due (nearly) as it arrives: told once, and the
// renewals are spaced by the floor and a growing backoff instead of following each other.
TEST_F(Renew, WatchDoesNotRenewAMisconfiguredDeviceInALoop) {
  TimePoint clock = issued_at_;
  std::vector<std::string> lines;
  int sleeps = 0;
  WatchHooks hooks;
  hooks.now = [&] { return clock; };
  hooks.sleep_until = [&](TimePoint until) {
    clock = std::max(clock, until);
    return ++sleeps < 40;
  };
  hooks.log = [&](const std::string& line) { lines.push_back(line); };
  issue_clock_ = [&] { return clock; };
  std::vector<TimePoint> renewals;
  std::vector<TimePoint> issued{current_.not_before()};
  const auto issue = issuing();
  const Reenroller counting = [&](const Certificate& current, const PrivateKey& current_key,
                                  const PrivateKey& new_key, const ReenrollRequest& request,
                                  const std::string& anchors) {
    renewals.push_back(clock);
    auto answer = issue(current, current_key, new_key, request, anchors);
    issued.push_back(answer.certificate.not_before());
    return answer;
  };
  RenewOptions options;
  options.threshold = RenewalThreshold::parse("1%");
  WatchOptions watch_options;
  watch_options.retry_min = 2s;
  watch_options.retry_max = 40s;
  std::mt19937_64 random(11);
  watch({target()}, options, watch_options, counting, hooks, random);

  ASSERT_GE(renewals.size(), 10U);
  std::chrono::system_clock::duration longest{};
  for (std::size_t i = 0; i < renewals.size(); ++i) {
    // Each certificate lives 100 s from its issuance (its notBefore here, as the simulated clock
    // runs ahead of the files' times); its floor is 10 s of that.
    EXPECT_GE(renewals[i] - issued[i], 10s) << "renewal " << i;
    EXPECT_LE(renewals[i] - issued[i], 51s) << "renewal " << i << " waited past half its life";
    longest = std::max(longest, renewals[i] - issued[i]);
  }
  EXPECT_GT(longest, 10s) << "the backoff grew past the floor";
  const auto told = std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find(" DeviceAlpha misconfigured next=") != std::string::npos;
  });
  EXPECT_EQ(told, 1) << "told once, not at each renewal";
  const auto line = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find(" misconfigured ") != std::string::npos;
  });
  ASSERT_NE(line, lines.end());
  EXPECT_NE(line->find("valid for 100s from its issuance and the threshold 1% makes it due 1s "
                       "after that, before the renewal floor of 10s"),
            std::string::npos)
      << *line;
}

TEST(RenewRetryAfter, AnHttpDateBecomesSecondsFromNow) {
  http::Response pending;
  pending.status = 202;
  const auto at = std::chrono::system_clock::now() + 120s;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 64> text{};
  std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  pending.headers.emplace_back("Retry-After", text.data());
  const auto result = check_status(pending, "simplereenroll");
  ASSERT_TRUE(result);
  EXPECT_GE(result->retry_after, 118s);
  EXPECT_LE(result->retry_after, 120s);
}

}  // namespace
}  // namespace estfleet::client
