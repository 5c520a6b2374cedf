#include "client/provision.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "client/errors.hpp"
#include "common/files.hpp"
#include "crypto/fleet_password.hpp"
#include "policy/iot_details.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;
using crypto::Certificate;
using crypto::CertificateSpec;
using crypto::KeyType;
using crypto::PrivateKey;
using std::chrono::hours;

constexpr auto kSecretMode = fs::perms::owner_read | fs::perms::owner_write;

// A root and an issuing CA the way `est-server init` lays them out, issuing device certificates
// the way the server would, without a server.
struct MiniCa {
  static CertificateSpec spec(const std::string& cn, const EVP_PKEY* key, bool ca,
                              crypto::TimePoint not_after) {
    static unsigned serial = 0;
    CertificateSpec s;
    s.serial = std::string(1, static_cast<char>(++serial % 100 + 1));
    s.subject_der = crypto::name_der({{"CN", cn}});
    s.public_key = key;
    s.not_before = std::chrono::system_clock::now() - hours(1);
    s.not_after = not_after;
    s.is_ca = ca;
    s.key_usage = ca ? std::vector<std::string>{"keyCertSign", "cRLSign"}
                     : std::vector<std::string>{"digitalSignature"};
    return s;
  }
  static crypto::TimePoint in(hours h) { return std::chrono::system_clock::now() + h; }

  PrivateKey root_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate root =
      sign_certificate(spec("Root", root_key.get(), true, in(hours(48))), nullptr, root_key.get());
  PrivateKey issuing_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate issuing = sign_certificate(spec("Issuing", issuing_key.get(), true, in(hours(48))),
                                         &root, root_key.get());

  Certificate issue(const EVP_PKEY* key, const std::string& cn,
                    crypto::TimePoint not_after = in(hours(24))) const {
    return sign_certificate(spec(cn, key, false, not_after), &issuing, issuing_key.get());
  }
  Issued issued(const PrivateKey& key, const std::string& cn) const {
    return {issue(key.get(), cn), {issuing, root}};
  }
};

policy::IotDetails details(const std::string& thing) {
  policy::IotDetails d;
  d.thing_name = thing;
  return d;
}

FleetConfig fleet(const std::vector<std::string>& things, const std::string& region = "local") {
  FleetConfig config;
  config.server_url = "https://localhost:8443";
  config.region = region;
  config.kv_name = "EST_FLEET_SECRET";
  for (const auto& thing : things) {
    config.devices.push_back({details(thing), KeyType::ec_p256});
  }
  return config;
}

class Provision : public ::testing::Test {
 protected:
  ProvisionOptions options() const {
    ProvisionOptions o;
    o.out = tmp_.path() / "out";
    o.trust_anchors = {ca_.root};
    o.fleet_secret = "fleet-secret";
    return o;
  }
  // Issues every request and remembers what was asked.
  Enroller issuing() {
    return [this](const PrivateKey& key, const EnrollRequest& request) {
      requests_.push_back(request);
      keys_.push_back(key.public_key_der());
      return ca_.issued(key, request.common_name);
    };
  }
  DeviceFiles files(const std::string& thing) const {
    return device_files(tmp_.path() / "out", thing);
  }

  testing::TempDir tmp_;
  MiniCa ca_;
  std::vector<EnrollRequest> requests_;
  std::vector<std::string> keys_;
};

TEST(DeviceExtensions, CarryTheIotDetailsAndTheRegionSignedInTheCsr) {
  const auto d = details("DeviceAlpha");
  const auto extensions = device_extensions(d, "eu-west-1");
  ASSERT_EQ(extensions.size(), 2U);
  EXPECT_EQ(extensions[0].oid, policy::kIotDetailsOid);
  EXPECT_FALSE(extensions[0].critical);
  EXPECT_EQ(crypto::parse_der_utf8_string(extensions[0].value_der), policy::to_json_text(d));
  EXPECT_EQ(extensions[1].oid, std::string("2.25.231872403115171669323704536858287047135"));
  EXPECT_FALSE(extensions[1].critical);
  EXPECT_EQ(crypto::parse_der_utf8_string(extensions[1].value_der), R"({"Region":"eu-west-1"})");

  // They survive the CSR: a server reads them back from the extensionRequest.
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  crypto::CsrSpec spec;
  spec.common_name = "DeviceAlpha";
  spec.extensions = extensions;
  const auto requested = crypto::build_csr(spec, key).requested_extensions();
  ASSERT_EQ(requested.size(), 2U);
  EXPECT_EQ(requested[1].value_der, extensions[1].value_der);
}

TEST(DeviceExtensions, NoRegionNoAttributes) {
  EXPECT_EQ(device_extensions(details("A"), "").size(), 1U);
}

TEST_F(Provision, WritesEachDevicesFilesWithTheFleetPassword) {
  const auto outcomes = provision(fleet({"DeviceAlpha", "DeviceBeta"}), options(), issuing());
  ASSERT_EQ(outcomes.size(), 2U);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.result, DeviceResult::enrolled) << outcome.reason;
    EXPECT_FALSE(outcome.serial.empty());
    EXPECT_TRUE(outcome.expires);
  }
  ASSERT_EQ(requests_.size(), 2U);
  EXPECT_EQ(requests_[1].common_name, "DeviceBeta");
  ASSERT_TRUE(requests_[1].credentials);
  EXPECT_EQ(requests_[1].credentials->user, "DeviceBeta");
  EXPECT_EQ(requests_[1].credentials->password,
            crypto::derive_fleet_password("fleet-secret", "DeviceBeta"));
  EXPECT_EQ(requests_[1].extensions.size(), 2U);

  const auto f = files("DeviceBeta");
  EXPECT_EQ(testing::file_mode(f.private_key), 0600U);
  EXPECT_EQ(testing::file_mode(f.certificate), 0644U);
  EXPECT_FALSE(fs::exists(f.pending_key)) << "the request is answered";
  const auto chain = Certificate::chain_from_pem(common::read_file(f.certificate));
  ASSERT_EQ(chain.size(), 2U) << "the device certificate, then the issuing CA, not the root";
  EXPECT_EQ(chain[0].subject_common_name(), "DeviceBeta");
  EXPECT_EQ(chain[1].to_der(), ca_.issuing.to_der());
  EXPECT_EQ(common::read_file(f.root_ca), ca_.root.to_pem());
  const auto key = PrivateKey::from_pem(common::read_file(f.private_key));
  EXPECT_TRUE(chain[0].matches_private_key(key.get()));
  EXPECT_EQ(provision_exit_code(outcomes), 0);
}

// An anchor file that also holds the issuing CA (as `cacerts --out` once wrote it) does not pass
// the issuing CA on: each device's root_ca.pem holds roots only.
TEST_F(Provision, RootCaPemHoldsTheRootOnly) {
  auto o = options();
  o.trust_anchors = {ca_.issuing, ca_.root};
  const auto outcomes = provision(fleet({"DeviceAlpha"}), o, issuing());
  ASSERT_EQ(outcomes[0].result, DeviceResult::enrolled) << outcomes[0].reason;
  EXPECT_EQ(common::read_file(files("DeviceAlpha").root_ca), ca_.root.to_pem());
}

TEST_F(Provision, TheServersCsrattrsDecideTheKeyTypeAndTheFixedSubject) {
  auto o = options();
  o.required_key_type = KeyType::ec_p384;
  o.fixed_subject = {{"2.5.4.10", "Acme Sensors"}};
  const auto outcomes = provision(fleet({"DeviceAlpha"}), o, issuing());
  ASSERT_EQ(outcomes.at(0).result, DeviceResult::enrolled) << outcomes.at(0).reason;
  const auto key = PrivateKey::from_pem(common::read_file(files("DeviceAlpha").private_key));
  EXPECT_EQ(crypto::describe_key(key.get()).to_string(), "EC P-384")
      << "the device's KeyType (ec-p256) gives way to the server's";
  ASSERT_EQ(requests_.size(), 1U);
  ASSERT_TRUE(requests_[0].subject_der);
  crypto::CsrSpec spec;
  spec.subject_der = requests_[0].subject_der;
  EXPECT_EQ(crypto::build_csr(spec, key).subject_text(), "O=Acme Sensors,CN=DeviceAlpha");
  EXPECT_FALSE(provision(fleet({"DeviceBeta"}), options(), issuing()).empty());
  EXPECT_FALSE(requests_.back().subject_der) << "no template, no subject beyond the CN";
}

TEST_F(Provision, ARerunSkipsValidDevicesAndForceEnrollsAFreshKey) {
  provision(fleet({"DeviceAlpha"}), options(), issuing());
  const auto installed = common::read_file(files("DeviceAlpha").certificate);

  const auto again = provision(fleet({"DeviceAlpha"}), options(), issuing());
  EXPECT_EQ(again.at(0).result, DeviceResult::skipped);
  EXPECT_EQ(again.at(0).serial, Certificate::from_pem(installed).serial_hex());
  EXPECT_EQ(requests_.size(), 1U) << "nothing was asked";

  auto force = options();
  force.force = true;
  const auto forced = provision(fleet({"DeviceAlpha"}), force, issuing());
  EXPECT_EQ(forced.at(0).result, DeviceResult::enrolled);
  ASSERT_EQ(keys_.size(), 2U);
  EXPECT_NE(keys_[0], keys_[1]) << "a fresh key";
  EXPECT_NE(common::read_file(files("DeviceAlpha").certificate), installed);
}

TEST_F(Provision, ARefusedForceKeepsTheInstalledPairAndSuggestsRenewing) {
  provision(fleet({"DeviceAlpha"}), options(), issuing());
  const auto installed = common::read_file(files("DeviceAlpha").certificate);
  auto force = options();
  force.force = true;
  const auto outcomes = provision(
      fleet({"DeviceAlpha"}), force, [](const PrivateKey&, const EnrollRequest&) -> Issued {
        throw ServerRefused(409,
                            "the server refused simpleenroll (409): DeviceAlpha has an "
                            "active certificate");
      });
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::failed);
  EXPECT_NE(outcomes.at(0).reason.find("(409)"), std::string::npos);
  EXPECT_NE(outcomes.at(0).reason.find("est-client renew"), std::string::npos);
  EXPECT_EQ(common::read_file(files("DeviceAlpha").certificate), installed);
  EXPECT_EQ(provision_exit_code(outcomes), 1);
}

TEST_F(Provision, PendingKeepsTheKeyAndTheNextRunReusesIt) {
  const auto pending = provision(fleet({"DeviceAlpha"}), options(),
                                 [&](const PrivateKey& key, const EnrollRequest&) -> Issued {
                                   keys_.push_back(key.public_key_der());
                                   throw StillPending(std::chrono::seconds(30), "pending");
                                 });
  EXPECT_EQ(pending.at(0).result, DeviceResult::pending);
  EXPECT_NE(pending.at(0).reason.find("30 s"), std::string::npos) << pending.at(0).reason;
  const auto f = files("DeviceAlpha");
  EXPECT_EQ(testing::file_mode(f.pending_key), 0600U);
  EXPECT_FALSE(fs::exists(f.private_key));
  EXPECT_EQ(provision_exit_code(pending), 3);

  const auto collected = provision(fleet({"DeviceAlpha"}), options(), issuing());
  EXPECT_EQ(collected.at(0).result, DeviceResult::enrolled);
  ASSERT_EQ(keys_.size(), 2U);
  EXPECT_EQ(keys_[0], keys_[1]) << "the same ThingName and public key";
  EXPECT_FALSE(fs::exists(f.pending_key));
  EXPECT_EQ(PrivateKey::from_pem(common::read_file(f.private_key)).public_key_der(), keys_[0]);
}

// <out>/<ThingName>/ holds the key: 0700 whatever the umask.
TEST_F(Provision, ANewDeviceFolderIsOwnerOnlyWhateverTheUmask) {
  const auto old_umask = ::umask(0);
  const auto outcomes = provision(fleet({"DeviceAlpha"}), options(), issuing());
  ::umask(old_umask);
  ASSERT_EQ(outcomes.at(0).result, DeviceResult::enrolled) << outcomes.at(0).reason;
  EXPECT_EQ(testing::file_mode(tmp_.path() / "out" / "DeviceAlpha"), 0700U);
}

// What is already in the output folder is not trusted: a pending key the client did not write
// itself is refused, never certified under the device's fleet password.
class ProvisionFolders : public Provision {
 protected:
  // The enrollment must not be asked for at all.
  Enroller never() {
    return [this](const PrivateKey&, const EnrollRequest& request) -> Issued {
      requests_.push_back(request);
      ADD_FAILURE() << "asked the server although the folder was refused";
      throw ClientError("asked");
    };
  }
  // Provisions DeviceAlpha expecting a refusal that says `why`.
  void expect_refused(const std::string& why) {
    const auto outcomes = provision(fleet({"DeviceAlpha"}), options(), never());
    ASSERT_EQ(outcomes.size(), 1U);
    EXPECT_EQ(outcomes[0].result, DeviceResult::failed);
    EXPECT_NE(outcomes[0].reason.find(why), std::string::npos) << outcomes[0].reason;
    EXPECT_TRUE(requests_.empty());
    EXPECT_FALSE(fs::exists(files("DeviceAlpha").private_key, ec_));
  }
  // A key planted by someone else, as `mode`.
  void plant_pending_key(fs::perms mode) {
    fs::create_directories(files("DeviceAlpha").pending_key.parent_path());
    fs::permissions(files("DeviceAlpha").pending_key.parent_path(), fs::perms::owner_all);
    common::write_file_atomically(files("DeviceAlpha").pending_key, planted_.to_pem(), mode);
  }
  PrivateKey planted_ = PrivateKey::generate(KeyType::ec_p256);
  std::error_code ec_;
};

TEST_F(ProvisionFolders, APendingKeyOthersMayReadOrWriteIsRefused) {
  plant_pending_key(common::kPublicFileMode);  // 0644
  expect_refused("private_key.pem.pending has mode 0644");
  EXPECT_EQ(common::read_file(files("DeviceAlpha").pending_key), planted_.to_pem())
      << "left for the operator to look at";
}

TEST_F(ProvisionFolders, APendingKeyThatIsALinkIsRefused) {
  common::write_file_atomically(tmp_.path() / "elsewhere.pem", planted_.to_pem(),
                                common::kSecretFileMode);
  fs::create_directories(files("DeviceAlpha").pending_key.parent_path());
  fs::permissions(files("DeviceAlpha").pending_key.parent_path(), fs::perms::owner_all);
  fs::create_symlink(tmp_.path() / "elsewhere.pem", files("DeviceAlpha").pending_key);
  expect_refused("private_key.pem.pending is a symbolic link");
}

TEST_F(ProvisionFolders, ASymlinkedDeviceFolderIsRefused) {
  fs::create_directories(tmp_.path() / "out");
  fs::create_directory(tmp_.path() / "elsewhere");
  fs::permissions(tmp_.path() / "elsewhere", fs::perms::owner_all);
  fs::create_directory_symlink(tmp_.path() / "elsewhere", tmp_.path() / "out" / "DeviceAlpha");
  expect_refused("is a symbolic link");
  EXPECT_TRUE(fs::is_empty(tmp_.path() / "elsewhere"));
}

TEST_F(ProvisionFolders, AGroupOrOtherWritableDeviceFolderIsRefused) {
  for (const auto mode : {fs::perms::owner_all | fs::perms::group_all,
                          fs::perms::owner_all | fs::perms::others_all}) {
    fs::create_directories(files("DeviceAlpha").private_key.parent_path());
    fs::permissions(files("DeviceAlpha").private_key.parent_path(), mode);
    expect_refused("others may write into it");
  }
}

// Ownership: the tests run as root in CI; chown needs it.
TEST_F(ProvisionFolders, AFolderOrPendingKeyOfAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file to another user";
  }
  constexpr uid_t kNobody = 65534;
  plant_pending_key(common::kSecretFileMode);
  ASSERT_EQ(::chown(files("DeviceAlpha").pending_key.c_str(), kNobody, kNobody), 0);
  expect_refused("private_key.pem.pending belongs to uid 65534");

  fs::remove(files("DeviceAlpha").pending_key);
  ASSERT_EQ(::chown(files("DeviceAlpha").pending_key.parent_path().c_str(), kNobody, kNobody), 0);
  expect_refused("belongs to uid 65534");
}

TEST_F(Provision, OneFailureDoesNotStopTheOthers) {
  auto issue = issuing();
  const auto outcomes =
      provision(fleet({"A", "B", "C"}), options(),
                [&](const PrivateKey& key, const EnrollRequest& request) -> Issued {
                  if (request.common_name == "B") {
                    throw ServerRefused(403, "the server refused simpleenroll (403): beyond");
                  }
                  return issue(key, request);
                });
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::enrolled);
  EXPECT_EQ(outcomes.at(1).result, DeviceResult::failed);
  EXPECT_EQ(outcomes.at(1).reason, "the server refused simpleenroll (403): beyond");
  EXPECT_EQ(outcomes.at(2).result, DeviceResult::enrolled);
  EXPECT_FALSE(fs::exists(files("B").certificate));
}

TEST_F(Provision, AnUnusableOutputFolderFailsBeforeAsking) {
  common::write_file_atomically(tmp_.path() / "out", "a file, not a folder", kSecretMode);
  const auto outcomes = provision(fleet({"A"}), options(), issuing());
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::failed);
  EXPECT_TRUE(requests_.empty()) << "no certificate may be issued that cannot be saved";
}

TEST_F(Provision, ACertificateForAnotherNameIsNotInstalled) {
  const auto outcomes =
      provision(fleet({"A"}), options(),
                [&](const PrivateKey& key, const EnrollRequest&) { return ca_.issued(key, "Z"); });
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::failed);
  EXPECT_FALSE(fs::exists(files("A").certificate));
}

TEST_F(Provision, ACertificateForAnotherKeyIsNotInstalled) {
  const auto stranger = PrivateKey::generate(KeyType::ec_p256);
  const auto outcomes =
      provision(fleet({"A"}), options(), [&](const PrivateKey&, const EnrollRequest& request) {
        return ca_.issued(stranger, request.common_name);
      });
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::failed);
  EXPECT_NE(outcomes.at(0).reason.find("does not match the private key"), std::string::npos)
      << outcomes.at(0).reason;
  EXPECT_FALSE(fs::exists(files("A").certificate));
  EXPECT_FALSE(fs::exists(files("A").private_key));
  EXPECT_FALSE(fs::exists(files("A").root_ca));
  EXPECT_TRUE(fs::exists(files("A").pending_key)) << "the key is kept for the next run";
}

TEST_F(Provision, ACertificateFromAnotherCaIsNotInstalled) {
  const MiniCa other;
  const auto outcomes =
      provision(fleet({"A"}), options(), [&](const PrivateKey& key, const EnrollRequest& request) {
        return other.issued(key, request.common_name);
      });
  EXPECT_EQ(outcomes.at(0).result, DeviceResult::failed);
  EXPECT_NE(outcomes.at(0).reason.find("does not chain to the trust anchor"), std::string::npos)
      << outcomes.at(0).reason;
  EXPECT_FALSE(fs::exists(files("A").certificate));
  EXPECT_FALSE(fs::exists(files("A").private_key));
}

TEST_F(Provision, AReplacedCertificateIsSwappedWholeAndLeavesNoTemporaryFiles) {
  provision(fleet({"A"}), options(), issuing());
  const auto before = common::read_file(files("A").certificate);
  auto o = options();
  o.force = true;
  const auto outcomes = provision(fleet({"A"}), o, issuing());
  ASSERT_EQ(outcomes.at(0).result, DeviceResult::enrolled) << outcomes.at(0).reason;
  const auto after = common::read_file(files("A").certificate);
  EXPECT_NE(after, before);
  EXPECT_EQ(Certificate::chain_from_pem(after).size(), 2U);
  EXPECT_EQ(testing::file_mode(files("A").certificate), 0644U);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(files("A").certificate.parent_path())) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"certificate.pem", "private_key.pem", "root_ca.pem"}))
      << "written through temporary files renamed into place";
}

TEST_F(Provision, ThingNamesWithAColonGetTheirOwnFolderAndPassword) {
  const auto outcomes = provision(fleet({"line1:DeviceA"}), options(), issuing());
  ASSERT_EQ(outcomes.at(0).result, DeviceResult::enrolled) << outcomes.at(0).reason;
  ASSERT_TRUE(requests_.at(0).credentials);
  EXPECT_EQ(requests_[0].credentials->user, "line1:DeviceA");
  EXPECT_EQ(requests_[0].credentials->password,
            crypto::derive_fleet_password("fleet-secret", "line1:DeviceA"));
  EXPECT_TRUE(fs::exists(tmp_.path() / "out" / "line1:DeviceA" / "certificate.pem"));
}

TEST_F(Provision, ProgressIsToldBeforeAndAfterEachDevice) {
  std::vector<std::string> events;
  auto o = options();
  o.on_start = [&](std::size_t i, std::size_t n, const std::string& thing) {
    events.push_back(std::to_string(i + 1) + "/" + std::to_string(n) + " " + thing);
  };
  o.on_done = [&](const DeviceOutcome& outcome) { events.emplace_back(to_string(outcome.result)); };
  provision(fleet({"A", "B"}), o, issuing());
  EXPECT_EQ(events, (std::vector<std::string>{"1/2 A", "enrolled", "2/2 B", "enrolled"}));
}

// check_installed against files made by hand.
class Installed : public Provision {
 protected:
  void install(const Certificate& cert, const PrivateKey& key, const std::string& thing = "A") {
    const auto f = files(thing);
    fs::create_directories(f.certificate.parent_path());
    common::write_file_atomically(f.certificate, cert.to_pem() + ca_.issuing.to_pem(), kSecretMode);
    common::write_file_atomically(f.private_key, key.to_pem(), kSecretMode);
  }
  InstalledState check(crypto::TimePoint now = std::chrono::system_clock::now()) const {
    return check_installed(files("A"), "A", {ca_.root}, now);
  }
  PrivateKey key_ = PrivateKey::generate(KeyType::ec_p256);
};

TEST_F(Installed, NothingInstalledIsNoProblem) {
  const auto state = check();
  EXPECT_FALSE(state.valid);
  EXPECT_EQ(state.problem, "");
}

TEST_F(Installed, AValidPairIsRecognised) {
  install(ca_.issue(key_.get(), "A"), key_);
  const auto state = check();
  ASSERT_TRUE(state.valid) << state.problem;
  EXPECT_EQ(state.valid->subject_common_name(), "A");
}

TEST_F(Installed, ExpiredIsNotValid) {
  install(ca_.issue(key_.get(), "A"), key_);
  const auto state = check(MiniCa::in(hours(30)));
  EXPECT_FALSE(state.valid);
  EXPECT_NE(state.problem.find("expired"), std::string::npos) << state.problem;
}

TEST_F(Installed, AnotherKeyIsNotValid) {
  const auto other = PrivateKey::generate(KeyType::ec_p256);
  install(ca_.issue(other.get(), "A"), key_);
  EXPECT_NE(check().problem.find("does not match"), std::string::npos);
}

TEST_F(Installed, AnotherNameIsNotValid) {
  install(ca_.issue(key_.get(), "B"), key_);
  EXPECT_NE(check().problem.find("CN 'B'"), std::string::npos);
}

TEST_F(Installed, AnotherCaIsNotValid) {
  const MiniCa other;
  install(other.issue(key_.get(), "A"), key_);
  EXPECT_NE(check().problem.find("does not verify"), std::string::npos);
}

TEST_F(Installed, AMissingOrDamagedFileIsNotValid) {
  install(ca_.issue(key_.get(), "A"), key_);
  fs::remove(files("A").private_key);
  EXPECT_FALSE(check().valid);
  EXPECT_FALSE(check().problem.empty());
  common::write_file_atomically(files("A").private_key, "not a key", kSecretMode);
  EXPECT_FALSE(check().problem.empty());
}

}  // namespace
}  // namespace estfleet::client
