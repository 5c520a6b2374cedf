// The admin commands against a real data folder: tables by default, --json for scripts, and one
// sentence for every error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/fleet_password.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/admin_certs.hpp"
#include "server/admin_fleet.hpp"
#include "server/admin_policy.hpp"
#include "server/admin_requests.hpp"
#include "server/admin_things.hpp"
#include "server/config.hpp"
#include "server/data_folder.hpp"
#include "server/fleet_secret_file.hpp"
#include "server/text_table.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

constexpr registry::UnixSeconds kIssued = 1'750'000'000;  // 2025-06-15T15:06:40Z
const std::string kDocument = R"({"Version": "2012-10-17", "Statement": []})";

class AdminCommandsTest : public ::testing::Test {
 protected:
  AdminCommandsTest() : data_(tmp_.path() / "data") {
    InitOptions init;
    init.data_dir = data_;
    initialize_data_folder(init);
    // A second handle on the file, as a running `serve` would hold.
    store_ = registry::SqliteStore::open((data_ / "registry.db").string());
  }

  void enroll(const std::string& thing, const std::string& serial) {
    registry::CertificateRecord cert;
    cert.serial = serial;
    cert.thing_name = thing;
    cert.subject = "CN=" + thing;
    cert.not_before = kIssued;
    cert.not_after = kIssued + 86400;
    cert.issued_at = kIssued;
    cert.pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
    cert.sha256_fingerprint = std::string(63, '0') + serial.back();
    store_->record_enrollment(cert, {"", {{"Region", "local"}}, thing, kDocument, std::nullopt},
                              registry::AuditEvent{});
  }

  testing::TempDir tmp_;
  std::filesystem::path data_;
  std::unique_ptr<registry::SqliteStore> store_;
};

TEST(TextTable, AlignsColumnsWithoutTrailingBlanks) {
  EXPECT_EQ(render_table({"A", "LONG"}, {{"wide cell", "x"}, {"b", ""}}),
            "A          LONG\n"
            "wide cell  x\n"
            "b\n");
}

TEST_F(AdminCommandsTest, ThingsListAsTableAndJson) {
  enroll("DeviceAlpha", "0A");
  EXPECT_EQ(
      list_things(data_, false),
      "NAME         STATUS  PROFILE  POLICY          ATTRIBUTES    CERTIFICATE                   "
      "UPDATED\n"
      "DeviceAlpha  active  default  DeviceAlpha v1  Region=local  expired 2025-06-16T15:06:40Z  "
      "2025-06-15T15:06:40Z\n")
      << "the certificate (valid for a day from 2025-06-15) is shown as expired";
  const auto json = nlohmann::json::parse(list_things(data_, true));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["name"], "DeviceAlpha");
  EXPECT_EQ(json[0]["status"], "active");
  EXPECT_EQ(json[0]["policy_name"], "DeviceAlpha");
  EXPECT_EQ(json[0]["policy_version"], 1);
  EXPECT_EQ(json[0]["attributes"]["Region"], "local");
  EXPECT_EQ(json[0]["certificate"]["serial"], "0A");
  EXPECT_EQ(json[0]["certificate"]["status"], "expired");
}

TEST_F(AdminCommandsTest, ThingsShowHasItsCertificates) {
  enroll("DeviceAlpha", "0A");
  const auto text = show_thing(data_, "DeviceAlpha", false);
  EXPECT_NE(text.find("policy      DeviceAlpha v1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("0A      DeviceAlpha  expired  2025-06-16T15:06:40Z  default\n"),
            std::string::npos)
      << text;
  const auto json = nlohmann::json::parse(show_thing(data_, "DeviceAlpha", true));
  ASSERT_EQ(json["certificates"].size(), 1u);
  EXPECT_EQ(json["certificates"][0]["serial"], "0A");
  EXPECT_EQ(json["certificates"][0]["revocation_reason"], nullptr);
  EXPECT_EQ(json["certificates"][0]["status"], "active") << "the registry's status, in JSON";
  EXPECT_EQ(json["certificates"][0]["expired"], true);
  EXPECT_THROW(show_thing(data_, "Nobody", false), std::runtime_error);
}

TEST_F(AdminCommandsTest, DisableRevokesAndEnableLetsItEnrollAgain) {
  enroll("DeviceAlpha", "0A");
  EXPECT_THROW(disable_thing(data_, "DeviceAlpha", "bored", false), std::runtime_error);
  EXPECT_EQ(
      disable_thing(data_, "DeviceAlpha", "cessationOfOperation", false),
      "disabled thing DeviceAlpha; revoked 1 certificate(s) (cessationOfOperation): 0A; CRL 2 "
      "published\n");
  EXPECT_EQ(store_->find_certificate("0A")->revocation_reason, "cessationOfOperation");
  const auto again =
      nlohmann::json::parse(disable_thing(data_, "DeviceAlpha", "unspecified", true));
  EXPECT_EQ(again["was_disabled"], true);
  EXPECT_TRUE(again["revoked"].empty());
  EXPECT_NE(enable_thing(data_, "DeviceAlpha", false).find("enabled thing DeviceAlpha"),
            std::string::npos);
  EXPECT_EQ(store_->find_thing("DeviceAlpha")->status, registry::ThingStatus::active);
  EXPECT_THROW(enable_thing(data_, "Nobody", false), std::runtime_error);
}

TEST_F(AdminCommandsTest, CertsListAndRevoke) {
  enroll("DeviceAlpha", "0A");
  enroll("DeviceBeta", "0B");
  EXPECT_EQ(list_certificates(data_, "DeviceBeta", false),
            "SERIAL  THING       STATUS   NOT_AFTER             PROFILE\n"
            "0B      DeviceBeta  expired  2025-06-16T15:06:40Z  default\n");
  EXPECT_EQ(nlohmann::json::parse(list_certificates(data_, "", true)).size(), 2u);

  EXPECT_THROW(revoke_certificate(data_, "0A", "because", false), std::runtime_error);
  EXPECT_THROW(revoke_certificate(data_, "FF", "keyCompromise", false), std::runtime_error);
  EXPECT_EQ(revoke_certificate(data_, "0a", "keyCompromise", false),
            "revoked certificate 0A of DeviceAlpha (keyCompromise); CRL 2 published\n");
  const auto again = nlohmann::json::parse(revoke_certificate(data_, "0A", "unspecified", true));
  EXPECT_EQ(again["already_revoked"], true);
  EXPECT_EQ(again["revocation_reason"], "keyCompromise") << "the first reason is kept";
}

TEST_F(AdminCommandsTest, PolicyShowPrintsTheStoredDocument) {
  enroll("DeviceAlpha", "0A");
  EXPECT_EQ(show_policy(data_, "DeviceAlpha", std::nullopt), kDocument + "\n");
  EXPECT_EQ(show_policy(data_, "DeviceAlpha", 1), kDocument + "\n");
  EXPECT_THROW(show_policy(data_, "DeviceAlpha", 2), std::runtime_error);
  EXPECT_THROW(show_policy(data_, "Nobody", std::nullopt), std::runtime_error);
}

TEST_F(AdminCommandsTest, RequestsListApproveAndReject) {
  registry::EnrollmentRequest request;
  request.thing_name = "DeviceAlpha";
  request.public_key_sha256 = std::string(64, 'a');
  request.content_sha256 = std::string(64, 'c');
  request.requested_by = "DeviceAlpha";
  request.source_address = "192.0.2.7";
  request.requested_at = kIssued;
  store_->submit_request(request, registry::AuditEvent{});
  EXPECT_EQ(list_requests(data_, false),
            "ID  THING        PROFILE  STATUS   KEY_SHA256        CONTENT_SHA256    REQUESTED_BY  "
            "FROM       REQUESTED\n"
            "1   DeviceAlpha  default  pending  aaaaaaaaaaaaaaaa  cccccccccccccccc  DeviceAlpha   "
            "192.0.2.7  2025-06-15T15:06:40Z\n");
  EXPECT_EQ(decide_request(data_, "DeviceAlpha", true, false),
            "approved enrollment request 1 of DeviceAlpha (key aaaaaaaaaaaaaaaa); the device gets "
            "its certificate when it retries\n");
  EXPECT_THROW(decide_request(data_, "DeviceAlpha", true, false), std::runtime_error)
      << "nothing pending any more";
  const auto json = nlohmann::json::parse(list_requests(data_, true));
  EXPECT_EQ(json[0]["status"], "approved");
  EXPECT_EQ(json[0]["public_key_sha256"], std::string(64, 'a'));
  EXPECT_EQ(json[0]["content_sha256"], std::string(64, 'c'));
  EXPECT_EQ(json[0]["decided_by"], "operator");
  // Rejecting withdraws an approval the device has not collected yet.
  EXPECT_EQ(nlohmann::json::parse(decide_request(data_, "DeviceAlpha", false, true))["status"],
            "rejected");
  try {
    decide_request(data_, "DeviceAlpha", false, false);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "thing DeviceAlpha has no pending or approved enrollment request");
  }

  request.thing_name = "DeviceBeta";
  store_->submit_request(request, registry::AuditEvent{});
  EXPECT_EQ(nlohmann::json::parse(decide_request(data_, "DeviceBeta", false, true))["status"],
            "rejected");
}

TEST_F(AdminCommandsTest, FleetSecretAndPasswords) {
  const auto secret = read_fleet_secret(data_ / kDefaultFleetSecretFile);
  EXPECT_EQ(fleet_secret(data_, "default"), secret);
  EXPECT_EQ(fleet_password(data_, "DeviceAlpha", "default"),
            crypto::derive_fleet_password(secret, "DeviceAlpha"));
  EXPECT_THROW(fleet_password(data_, "bad/name", "default"), std::runtime_error);
  EXPECT_THROW(fleet_secret(data_, "nope"), std::runtime_error);

  std::ofstream(data_ / kConfigFileName, std::ios::app)
      << "\n[profiles.plain]\n"
      << "\n[profiles.named]\nfleet_secret_file = \"fleet/default.secret\"\n"
      << "thing_name_pattern = \"sensor-[0-9]+\"\n";
  try {
    fleet_secret(data_, "plain");
    ADD_FAILURE() << "a profile without a secret printed one";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "profile 'plain' has no fleet secret; set fleet_secret_file in [profiles.plain]");
  }
  EXPECT_EQ(fleet_password(data_, "sensor-42", "named"),
            crypto::derive_fleet_password(secret, "sensor-42"));
  EXPECT_THROW(fleet_password(data_, "DeviceAlpha", "named"), std::runtime_error);
}

}  // namespace
}  // namespace estfleet::server
