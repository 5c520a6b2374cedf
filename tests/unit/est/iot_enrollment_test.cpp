// Fleet provisioning through the pure EST service: fleet passwords, IoT details and attributes
// signed in the CSR, the profile's policy template, manual approval. Every refusal is checked for
// its status, its sentence, and that the registry did not change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "crypto/fleet_password.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/pkcs7.hpp"
#include "est/iot_request.hpp"
#include "est/service.hpp"
#include "policy/document.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

const std::string kSecret = "fleet secret for the unit tests";
const std::string kUser = "factory";
const std::string kPassword = "correct horse battery";

std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + crypto::base64_encode(user + ":" + password);
}

std::string fleet_auth(const std::string& thing_name) {
  return basic(thing_name, crypto::derive_fleet_password(kSecret, thing_name));
}

// The IoTDetails of examples/client_config.json for `name`, Publish on `publish`.
std::string details_json(const std::string& name,
                         const std::string& publish = "topic/sensors/${name}/telemetry") {
  std::string topic = publish;
  if (const auto at = topic.find("${name}"); at != std::string::npos) {
    topic.replace(at, 7, name);
  }
  return nlohmann::ordered_json{
      {"ThingName", name},
      {"Policies",
       {{"Connect", true}, {"Publish", true}, {"Receive", nullptr}, {"Subscribe", nullptr}}},
      {"Topics", {{"Connect", {{"Name1", "client/" + name}}}, {"Publish", {{"Name1", topic}}}}}}
      .dump();
}

crypto::CertificateRequest::Extension details_extension(const std::string& json) {
  return {policy::kIotDetailsOid, false, crypto::der_utf8_string(json)};
}

crypto::CertificateRequest::Extension attributes_extension(const std::string& json) {
  return {kDeviceAttributesOid, false, crypto::der_utf8_string(json)};
}

// What a refusal must leave untouched.
struct RegistrySnapshot {
  std::size_t things = 0;
  std::size_t certificates = 0;
  std::size_t policy_versions = 0;
  std::size_t requests = 0;
  bool operator==(const RegistrySnapshot&) const = default;
};

class IotEnrollmentTest : public ::testing::Test {
 protected:
  IotEnrollmentTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    store_->put_user(registry::User{kUser, crypto::hash_password(kPassword, {10, 8, 1}), 0}, audit,
                     false);
    EnrollmentProfile fleet;
    fleet.fleet_secret = kSecret;
    EnrollmentProfile named = fleet;
    named.label = "named";
    named.thing_name_pattern.emplace("Device[A-Z][a-z]+");
    EnrollmentProfile manual = fleet;
    manual.label = "manual";
    manual.approval = Approval::manual;
    manual.retry_after = std::chrono::seconds(90);
    EnrollmentProfile other_manual = manual;
    other_manual.label = "manual2";
    EnrollmentProfile short_lived = fleet;
    short_lived.label = "short";
    short_lived.issuance.validity = std::chrono::seconds(60);
    short_lived.issuance.backdate = std::chrono::seconds(10);
    service_.emplace(authority_, *store_,
                     std::vector{fleet, named, manual, other_manual, short_lived},
                     [this] { return now_; });
    peer_.remote_address = "192.0.2.7";
  }

  http::Response enroll(const crypto::CertificateRequest& csr, const std::string& auth,
                        const std::string& label = "") {
    const std::string prefix =
        label.empty() ? "/.well-known/est/" : "/.well-known/est/" + label + "/";
    http::Request request{"POST",
                          prefix + "simpleenroll",
                          {{"Content-Type", "application/pkcs10"}, {"Authorization", auth}},
                          crypto::base64_encode(csr.to_der(), 64)};
    return service_->handle(request, peer_).response;
  }

  crypto::CertificateRequest csr(const std::string& cn,
                                 std::vector<crypto::CertificateRequest::Extension> extensions = {},
                                 const crypto::PrivateKey* key = nullptr) {
    crypto::CsrSpec spec;
    spec.common_name = cn;
    spec.extensions = std::move(extensions);
    return crypto::build_csr(spec, key != nullptr ? *key : key_);
  }

  static crypto::Certificate issued(const http::Response& response) {
    EXPECT_EQ(response.status, 200) << response.body;
    const auto certs = crypto::parse_pkcs7_certs_only(*crypto::base64_decode(response.body));
    EXPECT_EQ(certs.size(), 1u);
    return certs.front();
  }

  RegistrySnapshot snapshot() {
    RegistrySnapshot result;
    const auto things = store_->list_things();
    result.things = things.size();
    for (const auto& thing : things) {
      result.policy_versions += store_->policy_versions(thing.name).size();
    }
    result.certificates = store_->list_certificates("").size();
    result.requests = store_->list_requests(std::nullopt).size();
    return result;
  }

  // Sends the request and checks a refusal: status, a sentence holding `needle`, text/plain, an
  // audit row "refused", and nothing else changed.
  void expect_refused(const crypto::CertificateRequest& request, const std::string& auth,
                      int status, const std::string& needle, const std::string& label = "") {
    const auto before = snapshot();
    const auto audit_before = store_->audit_since(0).size();
    const auto response = enroll(request, auth, label);
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_NE(response.body.find(needle), std::string::npos) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(response.body.find('\n'), response.body.size() - 1) << "one line";
    EXPECT_EQ(snapshot(), before);
    const auto audit = store_->audit_since(0);
    ASSERT_EQ(audit.size(), audit_before + 1);
    EXPECT_EQ(audit.back().result, "refused");
  }

  static std::string default_document(const std::string& name) {
    return policy::to_json_text(
        policy::build_policy_document(policy::default_details(policy::default_template(), name)));
  }

  testing::TempDir dir_;
  crypto::TimePoint now_;
  ca::Authority authority_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<EstService> service_;
  http::TlsPeer peer_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(IotEnrollmentTest, AFleetPasswordEnrollsItsThingWithTheDefaultPolicy) {
  const auto cert = issued(enroll(csr("DeviceAlpha"), fleet_auth("DeviceAlpha")));
  EXPECT_EQ(cert.subject_common_name(), "DeviceAlpha");
  const auto thing = store_->find_thing("DeviceAlpha");
  ASSERT_TRUE(thing);
  EXPECT_EQ(thing->policy_name, "DeviceAlpha");
  EXPECT_EQ(thing->policy_version, 1);
  EXPECT_EQ(store_->find_policy("DeviceAlpha")->document, default_document("DeviceAlpha"));
  EXPECT_EQ(store_->find_certificate(cert.serial_hex())->policy_version, 1);
  EXPECT_EQ(store_->audit_since(0).back().actor, "DeviceAlpha");
}

TEST_F(IotEnrollmentTest, RegistryUsersStillAuthenticateBesideTheFleetSecret) {
  issued(enroll(csr("DeviceAlpha"), basic(kUser, kPassword)));
  EXPECT_EQ(store_->audit_since(0).back().actor, kUser);
}

TEST_F(IotEnrollmentTest, AnotherThingsFleetPasswordIsRefused) {
  const auto betas_password = crypto::derive_fleet_password(kSecret, "DeviceBeta");
  expect_refused(csr("DeviceAlpha"), basic("DeviceAlpha", betas_password), 401,
                 "neither the user's nor the fleet password");
  expect_refused(csr("DeviceAlpha"),
                 basic("DeviceAlpha", crypto::derive_fleet_password("other", "DeviceAlpha")), 401,
                 "fleet password");
}

TEST_F(IotEnrollmentTest, AFleetPasswordEnrollsOnlyItsOwnName) {
  expect_refused(csr("DeviceBeta"), fleet_auth("DeviceAlpha"), 403,
                 "the fleet password of DeviceAlpha enrolls only that ThingName, not DeviceBeta");
}

TEST_F(IotEnrollmentTest, IotDetailsWithinTheTemplateBecomeThePolicy) {
  const auto json = details_json("DeviceAlpha");
  issued(enroll(
      csr("DeviceAlpha", {details_extension(json), attributes_extension(R"({"Region":"local"})")}),
      fleet_auth("DeviceAlpha")));
  EXPECT_EQ(
      store_->find_policy("DeviceAlpha")->document,
      policy::to_json_text(policy::build_policy_document(policy::parse_iot_details_text(json))));
  EXPECT_EQ(store_->find_thing("DeviceAlpha")->attributes,
            (std::map<std::string, std::string>{{"Region", "local"}}));
}

TEST_F(IotEnrollmentTest, TheLegacyOidCarriesRawJson) {
  const auto json = details_json("DeviceAlpha");
  issued(enroll(csr("DeviceAlpha", {{policy::kLegacyIotDetailsOid, false, json}}),
                fleet_auth("DeviceAlpha")));
  EXPECT_EQ(
      store_->find_policy("DeviceAlpha")->document,
      policy::to_json_text(policy::build_policy_document(policy::parse_iot_details_text(json))));
}

TEST_F(IotEnrollmentTest, DetailsUnderBothOidsOrTwiceAreRefused) {
  const auto json = details_json("DeviceAlpha");
  const auto auth = fleet_auth("DeviceAlpha");
  expect_refused(
      csr("DeviceAlpha", {details_extension(json), {policy::kLegacyIotDetailsOid, false, json}}),
      auth, 400, "IoT details more than once");
  expect_refused(csr("DeviceAlpha", {details_extension(json), details_extension(json)}), auth, 400,
                 "more than once");
  expect_refused(csr("DeviceAlpha", {{policy::kIotDetailsOid, false, json}}), auth, 400,
                 "not a DER UTF8String");
}

TEST_F(IotEnrollmentTest, MalformedDetailsAreRefusedNamingThePath) {
  const auto auth = fleet_auth("DeviceAlpha");
  expect_refused(csr("DeviceAlpha", {details_extension("{not json")}), auth, 400,
                 "the IoT details in the CSR are invalid at $");
  expect_refused(
      csr("DeviceAlpha",
          {details_extension(R"({"ThingName":"DeviceAlpha","Policies":{"Connect":1}})")}),
      auth, 400, "invalid at $.Policies.Connect");
  expect_refused(
      csr("DeviceAlpha",
          {details_extension(R"({"ThingName":"DeviceAlpha","Policies":{"Jump":true}})")}),
      auth, 400, "$.Policies.Jump: is not an action");
}

TEST_F(IotEnrollmentTest, DetailsForAnotherThingNameAreRefused) {
  expect_refused(csr("DeviceAlpha", {details_extension(details_json("DeviceBeta"))}),
                 fleet_auth("DeviceAlpha"), 400,
                 "the IoT details name ThingName DeviceBeta but the CSR's CN is DeviceAlpha");
}

TEST_F(IotEnrollmentTest, DetailsBeyondTheTemplateAreRefusedNamingTheEntry) {
  expect_refused(csr("DeviceAlpha", {details_extension(details_json("DeviceAlpha", "topic/#"))}),
                 fleet_auth("DeviceAlpha"), 403, "Topics.Publish.Name1");
  expect_refused(
      csr("DeviceAlpha",
          {details_extension(details_json("DeviceAlpha", "topic/sensors/DeviceBeta/telemetry"))}),
      fleet_auth("DeviceAlpha"), 403, "beyond what the profile allows");
}

// A device named after a fixed segment of the template would own that namespace under a pattern
// with ${ThingName} in the same place; it is refused whether or not its CSR asks for anything.
TEST_F(IotEnrollmentTest, AThingNameReservedByTheTemplateIsRefusedWithOrWithoutDetails) {
  expect_refused(csr("commands"), fleet_auth("commands"), 403,
                 "the ThingName commands is reserved by this profile's policy template: it is a "
                 "fixed segment of topic/commands/${ThingName}");
  expect_refused(csr("commands", {details_extension(details_json("commands"))}),
                 fleet_auth("commands"), 403,
                 "at ThingName: the ThingName commands is reserved by this profile");
  // Compared ignoring ASCII case, as policy::reserved_by does.
  expect_refused(csr("Sensors"), fleet_auth("Sensors"), 403, "the ThingName Sensors is reserved");
  expect_refused(csr("broadcast"), basic(kUser, kPassword), 403,
                 "is a fixed segment of topic/broadcast");
  EXPECT_FALSE(store_->find_thing("commands"));
}

TEST_F(IotEnrollmentTest, TheProfilesThingNamePatternIsEnforced) {
  expect_refused(csr("Device7"), fleet_auth("Device7"), 400,
                 "the ThingName Device7 does not match this profile's pattern Device[A-Z][a-z]+",
                 "named");
  expect_refused(csr("xDeviceAlphax"), fleet_auth("xDeviceAlphax"), 400, "pattern", "named");
  issued(enroll(csr("DeviceAlpha"), fleet_auth("DeviceAlpha"), "named"));
}

TEST_F(IotEnrollmentTest, AnActiveCertificateIsNotTakenOver) {
  issued(enroll(csr("DeviceAlpha"), fleet_auth("DeviceAlpha")));
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  expect_refused(csr("DeviceAlpha", {}, &other_key), fleet_auth("DeviceAlpha"), 409,
                 "renew it with simplereenroll");
}

// The answer to a first enrollment was lost: the device asks again with the same key and CSR
// content, and holds no certificate it could renew with. It gets the same certificate again.
TEST_F(IotEnrollmentTest, ALostEnrollmentAnswerIsSentAgainAndNothingChanges) {
  const auto json = details_json("DeviceAlpha");
  const auto request =
      csr("DeviceAlpha", {details_extension(json), attributes_extension(R"({"Region":"x"})")});
  const auto first = issued(enroll(request, fleet_auth("DeviceAlpha")));
  const auto before = snapshot();
  // A new CSR (a new signature, as a PoP CSR would be), same key and content.
  const auto again_csr =
      csr("DeviceAlpha", {details_extension(json), attributes_extension(R"({"Region":"x"})")});
  const auto again = issued(enroll(again_csr, fleet_auth("DeviceAlpha")));
  EXPECT_EQ(again.serial_hex(), first.serial_hex());
  EXPECT_EQ(again.to_der(), first.to_der());
  EXPECT_EQ(snapshot(), before) << "a repeat must issue and register nothing";
  const auto audit = store_->audit_since(0);
  EXPECT_EQ(audit.back().result, "repeated");
  EXPECT_EQ(audit.back().serial, first.serial_hex());
  EXPECT_EQ(store_->find_certificate(first.serial_hex())->status,
            registry::CertificateStatus::active);
}

TEST_F(IotEnrollmentTest, ARepeatWithAnotherKeyContentPrincipalOrProfileIsStill409) {
  const auto json = details_json("DeviceAlpha");
  issued(enroll(csr("DeviceAlpha", {details_extension(json)}), fleet_auth("DeviceAlpha")));
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  expect_refused(csr("DeviceAlpha", {details_extension(json)}, &other_key),
                 fleet_auth("DeviceAlpha"), 409, "already holds an active certificate");
  // Other content: the profile's default policy instead of the details.
  expect_refused(csr("DeviceAlpha"), fleet_auth("DeviceAlpha"), 409,
                 "already holds an active certificate");
  // Another principal with the same key and content.
  expect_refused(csr("DeviceAlpha", {details_extension(json)}), basic(kUser, kPassword), 409,
                 "already holds an active certificate");
  // Another profile.
  expect_refused(csr("DeviceAlpha", {details_extension(json)}), fleet_auth("DeviceAlpha"), 409,
                 "already holds an active certificate", "named");
}

TEST_F(IotEnrollmentTest, ALostAnswerUnderManualApprovalIsSentAgain) {
  const auto auth = fleet_auth("DeviceAlpha");
  EXPECT_EQ(enroll(csr("DeviceAlpha"), auth, "manual").status, 202);
  store_->decide_request("DeviceAlpha", true, "operator", 0, registry::AuditEvent{});
  const auto cert = issued(enroll(csr("DeviceAlpha"), auth, "manual"));
  const auto before = snapshot();
  EXPECT_EQ(issued(enroll(csr("DeviceAlpha"), auth, "manual")).serial_hex(), cert.serial_hex());
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(store_->list_requests(std::nullopt).front().status, registry::RequestStatus::issued);
}

// Two identical requests at once (a device that retried before its first answer arrived): one
// certificate is issued and registered, and every request is answered with it.
TEST_F(IotEnrollmentTest, IdenticalEnrollmentsRacingIssueOneCertificate) {
  const auto auth = fleet_auth("DeviceAlpha");
  const auto request = csr("DeviceAlpha");
  std::vector<std::thread> threads;
  std::vector<http::Response> answers(6);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] { answers[i] = enroll(request, auth); });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto certificates = store_->list_certificates("DeviceAlpha");
  ASSERT_EQ(certificates.size(), 1u);
  for (const auto& answer : answers) {
    EXPECT_EQ(issued(answer).serial_hex(), certificates.front().serial);
  }
}

// An expired certificate cannot renew itself, so it must not keep its device from enrolling
// again under the profile's own authentication.
TEST_F(IotEnrollmentTest, AnExpiredCertificateIsSupersededByANewEnrollment) {
  const auto auth = fleet_auth("DeviceAlpha");
  const auto old_cert = issued(enroll(csr("DeviceAlpha"), auth, "short"));
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  now_ += std::chrono::seconds(45);  // still valid: a second key is refused as before
  expect_refused(csr("DeviceAlpha", {}, &new_key), auth, 409, "already holds an active", "short");
  now_ += std::chrono::seconds(30);  // past notAfter
  const auto new_cert = issued(enroll(csr("DeviceAlpha", {}, &new_key), auth, "short"));
  EXPECT_TRUE(new_cert.matches_private_key(new_key.get()));
  EXPECT_EQ(store_->find_certificate(old_cert.serial_hex())->status,
            registry::CertificateStatus::superseded);
  const auto record = store_->find_certificate(new_cert.serial_hex());
  EXPECT_EQ(record->status, registry::CertificateStatus::active);
  EXPECT_EQ(record->replaces, old_cert.serial_hex());
  const auto audit = store_->audit_since(0);
  EXPECT_EQ(audit.back().result, "ok");
  EXPECT_NE(audit.back().reason.find("supersedes " + old_cert.serial_hex()), std::string::npos)
      << audit.back().reason;
}

// A lapse must not hand the name to whoever else may enroll: another principal, or another
// profile, gets 409; the device's own fleet password gets it back.
TEST_F(IotEnrollmentTest, AnExpiredNameIsNotTakenByAnotherPrincipalOrProfile) {
  const auto old_cert = issued(enroll(csr("DeviceAlpha"), fleet_auth("DeviceAlpha"), "short"));
  now_ += std::chrono::seconds(75);  // past notAfter
  const auto taker = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  expect_refused(csr("DeviceAlpha", {}, &taker), basic(kUser, kPassword), 409,
                 "has expired, but only its own device may enroll it again", "short");
  expect_refused(csr("DeviceAlpha", {}, &taker), fleet_auth("DeviceAlpha"), 409,
                 "has expired, but only its own device may enroll it again");
  EXPECT_EQ(store_->find_certificate(old_cert.serial_hex())->status,
            registry::CertificateStatus::active);
  const auto back =
      issued(enroll(csr("DeviceAlpha", {}, &taker), fleet_auth("DeviceAlpha"), "short"));
  EXPECT_EQ(store_->find_certificate(back.serial_hex())->replaces, old_cert.serial_hex());
}

TEST_F(IotEnrollmentTest, ADisabledThingIsRefusedOnEnrollAndReenroll) {
  const auto cert = issued(enroll(csr("DeviceAlpha"), fleet_auth("DeviceAlpha")));
  store_->disable_thing("DeviceAlpha", "cessationOfOperation", 0, registry::AuditEvent{});
  expect_refused(csr("DeviceAlpha"), fleet_auth("DeviceAlpha"), 403, "DeviceAlpha is disabled");

  peer_.peer_chain_der = {cert.to_der()};
  http::Request renew{"POST",
                      "/.well-known/est/simplereenroll",
                      {{"Content-Type", "application/pkcs10"}},
                      crypto::base64_encode(csr("DeviceAlpha").to_der())};
  EXPECT_EQ(service_->handle(renew, peer_).response.status, 403);
}

TEST_F(IotEnrollmentTest, DeviceAttributesMustBeKnownStrings) {
  const auto auth = fleet_auth("DeviceAlpha");
  expect_refused(csr("DeviceAlpha", {attributes_extension(R"({"Region":5})")}), auth, 400,
                 "'Region' must be a string");
  expect_refused(csr("DeviceAlpha", {attributes_extension(R"({"Colour":"red"})")}), auth, 400,
                 "'Colour' is not one this profile accepts");
  expect_refused(csr("DeviceAlpha", {attributes_extension(R"(["Region"])")}), auth, 400,
                 "not a JSON object");
  expect_refused(csr("DeviceAlpha", {{kDeviceAttributesOid, false, R"({"Region":"x"})"}}), auth,
                 400, "not a DER UTF8String");
}

TEST_F(IotEnrollmentTest, ReenrollmentKeepsTheThingsPolicy) {
  const auto cert =
      issued(enroll(csr("DeviceAlpha", {details_extension(details_json("DeviceAlpha"))}),
                    fleet_auth("DeviceAlpha")));
  peer_.peer_chain_der = {cert.to_der()};
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  http::Request renew{"POST",
                      "/.well-known/est/simplereenroll",
                      {{"Content-Type", "application/pkcs10"}},
                      crypto::base64_encode(csr("DeviceAlpha", {}, &new_key).to_der())};
  const auto renewed = issued(service_->handle(renew, peer_).response);
  EXPECT_EQ(store_->find_certificate(renewed.serial_hex())->policy_version, 1);
  EXPECT_EQ(store_->policy_versions("DeviceAlpha").size(), 1u);
}

TEST_F(IotEnrollmentTest, ManualApprovalWaitsThenIssuesForTheSameKey) {
  const auto auth = fleet_auth("DeviceAlpha");
  const auto first = enroll(csr("DeviceAlpha"), auth, "manual");
  EXPECT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.header("Retry-After"), "90");
  EXPECT_EQ(first.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_NE(first.body.find("awaits an operator's approval"), std::string::npos) << first.body;
  EXPECT_TRUE(store_->list_certificates("").empty());
  const auto requests = store_->list_requests(std::nullopt);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].public_key_sha256,
            crypto::hex_encode(crypto::sha256(key_.public_key_der())));
  EXPECT_EQ(requests[0].requested_by, "DeviceAlpha");
  EXPECT_EQ(requests[0].source_address, "192.0.2.7");

  EXPECT_EQ(enroll(csr("DeviceAlpha"), auth, "manual").status, 202) << "still pending";
  EXPECT_EQ(store_->list_requests(std::nullopt).size(), 1u) << "a retry opens no second request";

  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  expect_refused(csr("DeviceAlpha", {}, &other_key), auth, 409,
                 "already has an open enrollment request for another key", "manual");

  store_->decide_request("DeviceAlpha", true, "operator", 0, registry::AuditEvent{});
  const auto cert = issued(enroll(csr("DeviceAlpha"), auth, "manual"));
  EXPECT_TRUE(cert.matches_private_key(key_.get()));
  EXPECT_EQ(store_->list_requests(std::nullopt).front().status, registry::RequestStatus::issued);
  EXPECT_EQ(store_->find_thing("DeviceAlpha")->profile, "manual");
}

TEST_F(IotEnrollmentTest, ARejectedRequestIsRefused) {
  const auto auth = fleet_auth("DeviceAlpha");
  EXPECT_EQ(enroll(csr("DeviceAlpha"), auth, "manual").status, 202);
  store_->decide_request("DeviceAlpha", false, "operator", 0, registry::AuditEvent{});
  expect_refused(csr("DeviceAlpha"), auth, 403,
                 "an operator rejected the enrollment request of DeviceAlpha", "manual");
}

TEST_F(IotEnrollmentTest, ManualApprovalStillChecksEverythingFirst) {
  expect_refused(csr("DeviceAlpha", {details_extension(details_json("DeviceAlpha", "topic/#"))}),
                 fleet_auth("DeviceAlpha"), 403, "Topics.Publish.Name1", "manual");
  expect_refused(csr("DeviceBeta"), fleet_auth("DeviceAlpha"), 403, "enrolls only", "manual");
}

TEST_F(IotEnrollmentTest, AnApprovalHoldsOnlyForTheContentThatWasApproved) {
  const auto auth = fleet_auth("DeviceAlpha");
  const auto approved_json = details_json("DeviceAlpha");
  const auto approved = [&] { return csr("DeviceAlpha", {details_extension(approved_json)}); };
  EXPECT_EQ(enroll(approved(), auth, "manual").status, 202);
  EXPECT_EQ(store_->list_requests(std::nullopt).front().content_sha256.size(), 64u);
  store_->decide_request("DeviceAlpha", true, "operator", 0, registry::AuditEvent{});

  // The same key asking for another topic (still within the template), for attributes, or for
  // no details at all is not what the operator approved.
  expect_refused(
      csr("DeviceAlpha",
          {details_extension(details_json("DeviceAlpha", "topic/sensors/DeviceAlpha/debug"))}),
      auth, 403, "was approved for other content than this CSR asks for", "manual");
  expect_refused(csr("DeviceAlpha", {details_extension(approved_json),
                                     attributes_extension(R"({"Region":"local"})")}),
                 auth, 403, "IoT details or attributes differ", "manual");
  expect_refused(csr("DeviceAlpha"), auth, 403, "approved for other content", "manual");
  EXPECT_EQ(store_->list_requests(std::nullopt).front().status, registry::RequestStatus::approved);

  const auto cert = issued(enroll(approved(), auth, "manual"));
  EXPECT_TRUE(cert.matches_private_key(key_.get()));
  EXPECT_EQ(store_->find_policy("DeviceAlpha")->document,
            policy::to_json_text(
                policy::build_policy_document(policy::parse_iot_details_text(approved_json))));
}

TEST_F(IotEnrollmentTest, APendingRequestDoesNotChangeItsContent) {
  const auto auth = fleet_auth("DeviceAlpha");
  EXPECT_EQ(
      enroll(csr("DeviceAlpha", {details_extension(details_json("DeviceAlpha"))}), auth, "manual")
          .status,
      202);
  expect_refused(
      csr("DeviceAlpha",
          {details_extension(details_json("DeviceAlpha", "topic/sensors/DeviceAlpha/debug"))}),
      auth, 409, "awaits approval for other content", "manual");
}

TEST_F(IotEnrollmentTest, AnApprovalHoldsOnlyForTheProfileItWasMadeUnder) {
  const auto auth = fleet_auth("DeviceAlpha");
  EXPECT_EQ(enroll(csr("DeviceAlpha"), auth, "manual").status, 202);
  expect_refused(csr("DeviceAlpha"), auth, 403,
                 "was made under the profile with label 'manual', not the profile with label "
                 "'manual2'",
                 "manual2");
  store_->decide_request("DeviceAlpha", true, "operator", 0, registry::AuditEvent{});
  expect_refused(csr("DeviceAlpha"), auth, 403, "retry through the label it was made under",
                 "manual2");
  issued(enroll(csr("DeviceAlpha"), auth, "manual"));
  EXPECT_EQ(store_->find_thing("DeviceAlpha")->profile, "manual");
}

TEST_F(IotEnrollmentTest, RejectingAnApprovedRequestWithdrawsTheApproval) {
  const auto auth = fleet_auth("DeviceAlpha");
  EXPECT_EQ(enroll(csr("DeviceAlpha"), auth, "manual").status, 202);
  store_->decide_request("DeviceAlpha", true, "operator", 0, registry::AuditEvent{});
  store_->decide_request("DeviceAlpha", false, "operator", 1, registry::AuditEvent{});
  expect_refused(csr("DeviceAlpha"), auth, 403, "an operator rejected", "manual");
}

TEST_F(IotEnrollmentTest, DeviceAttributesRefuseControlCharactersAndRepeatedKeys) {
  const auto auth = fleet_auth("DeviceAlpha");
  expect_refused(csr("DeviceAlpha", {attributes_extension("{\"Region\":\"eu\\nwest\"}")}), auth,
                 400, "the device attribute 'Region' holds a control character");
  expect_refused(csr("DeviceAlpha", {attributes_extension("{\"Reg\\u0007ion\":\"eu\"}")}), auth,
                 400, R"(the device attribute key "Reg\u0007ion" holds a control character)");
  expect_refused(csr("DeviceAlpha", {attributes_extension(R"({"Region":"a","Region":"b"})")}), auth,
                 400, "invalid at $.Region: this key appears twice in one object");
  expect_refused(csr("DeviceAlpha", {attributes_extension("{\"Region\":\"a\"")}), auth, 400,
                 "the device attributes in the CSR are invalid at $");
}

TEST_F(IotEnrollmentTest, IotJsonOverEightKibIsRefusedBeforeParsing) {
  const auto auth = fleet_auth("DeviceAlpha");
  // Valid JSON, so only the size can be why: a long run of spaces after the object.
  const auto padded = details_json("DeviceAlpha") + std::string(kMaxIotJsonBytes, ' ');
  expect_refused(csr("DeviceAlpha", {details_extension(padded)}), auth, 400,
                 "the IoT details in the CSR are " + std::to_string(padded.size()) +
                     " bytes of JSON, more than the 8192 accepted");
  expect_refused(csr("DeviceAlpha", {{policy::kLegacyIotDetailsOid, false, padded}}), auth, 400,
                 "more than the 8192 accepted");
  const std::string attributes = R"({"Region":"eu"})" + std::string(kMaxIotJsonBytes, ' ');
  expect_refused(csr("DeviceAlpha", {attributes_extension(attributes)}), auth, 400,
                 "the device attributes in the CSR are " + std::to_string(attributes.size()) +
                     " bytes of JSON");
  // Exactly at the limit is accepted.
  const auto json = details_json("DeviceAlpha");
  const auto at_limit = json + std::string(kMaxIotJsonBytes - json.size(), ' ');
  issued(enroll(csr("DeviceAlpha", {details_extension(at_limit)}), auth));
}

TEST_F(IotEnrollmentTest, AThingNameWithAColonUsesItsFleetPassword) {
  const std::string name = "line1:DeviceA";
  const auto cert = issued(enroll(csr(name), fleet_auth(name)));
  EXPECT_EQ(cert.subject_common_name(), name);
  EXPECT_EQ(store_->audit_since(0).back().actor, name);
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  expect_refused(csr("line1:DeviceB", {}, &other_key),
                 basic("line1:DeviceB", crypto::derive_fleet_password(kSecret, name)), 401,
                 "neither the user's nor the fleet password");
  // "line1" with a password "DeviceB:<password of line1:DeviceB>" is not the fleet password of
  // any name but line1:DeviceB, and enrolls only that one.
  expect_refused(csr("DeviceBeta", {}, &other_key), fleet_auth("line1:DeviceB"), 403,
                 "the fleet password of line1:DeviceB enrolls only that ThingName, not DeviceBeta");
}

TEST_F(IotEnrollmentTest, ARegistryUsersPasswordMayHoldColons) {
  registry::AuditEvent audit;
  audit.operation = "user-add";
  store_->put_user(registry::User{"station", crypto::hash_password("a:b:c", {10, 8, 1}), 0}, audit,
                   false);
  issued(enroll(csr("DeviceAlpha"), basic("station", "a:b:c")));
  EXPECT_EQ(store_->audit_since(0).back().actor, "station");
}

TEST_F(IotEnrollmentTest, TheStoredPolicyNamesTheThingNotAVariable) {
  const auto json =
      nlohmann::ordered_json{
          {"ThingName", "DeviceAlpha"},
          {"Policies",
           {{"Connect", true}, {"Publish", true}, {"Receive", nullptr}, {"Subscribe", false}}},
          {"Topics",
           {{"Connect", {{"Name1", "client/${iot:Connection.Thing.ThingName}"}}},
            {"Publish", {{"Name1", "topic/sensors/${ThingName}/telemetry"}}},
            {"Subscribe", {{"Name1", "topicfilter/admin/${ThingName}"}}}}}}
          .dump();
  issued(enroll(csr("DeviceAlpha", {details_extension(json)}), fleet_auth("DeviceAlpha")));
  const auto document = store_->find_policy("DeviceAlpha")->document;
  EXPECT_EQ(document.find("${"), std::string::npos) << document;
  EXPECT_NE(document.find("topic/sensors/DeviceAlpha/telemetry"), std::string::npos) << document;
  EXPECT_NE(document.find("client/DeviceAlpha"), std::string::npos) << document;
  EXPECT_NE(document.find("topicfilter/admin/DeviceAlpha"), std::string::npos) << document;

  // A Deny (never checked against the template) may not smuggle in another variable either.
  const auto other =
      nlohmann::ordered_json{
          {"ThingName", "DeviceBeta"},
          {"Policies", {{"Subscribe", false}}},
          {"Topics", {{"Subscribe", {{"Name1", "topicfilter/${iot:ClientId}"}}}}}}
          .dump();
  expect_refused(csr("DeviceBeta", {details_extension(other)}), fleet_auth("DeviceBeta"), 400,
                 "Topics.Subscribe.Name1 uses a variable other than ${ThingName}");
}

}  // namespace
}  // namespace estfleet::est
