// A registry that cannot be reached (PostgreSQL down, its password wrong): the client learns that
// nothing was issued and when to retry, never the database's own message, which names its server,
// user and files; the operator's log gets that message.
#include <gtest/gtest.h>

#include "crypto/encoding.hpp"
#include "est/service.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

using namespace registry;

const std::string kLibpqMessage =
    "connection to server at \"10.1.2.3\", port 5432 failed: FATAL:  password authentication "
    "failed for user \"est_fleet\"";

// Every call fails as a store whose database went away does.
class UnreachableStore final : public Store {
 public:
  void record_enrollment(const CertificateRecord&, const ThingRegistration&,
                         const AuditEvent&) override {
    fail();
  }
  void record_reenrollment(const CertificateRecord&, const AuditEvent&) override { fail(); }
  void revoke_certificate(const std::string&, const std::string&, UnixSeconds,
                          const AuditEvent&) override {
    fail();
  }
  std::optional<CertificateRecord> find_certificate(const std::string&) override { fail(); }
  std::vector<CertificateRecord> list_certificates(const std::string&) override { fail(); }
  std::optional<CertificateRecord> active_certificate(const std::string&) override { fail(); }
  std::optional<Thing> find_thing(const std::string&) override { fail(); }
  std::vector<Thing> list_things() override { fail(); }
  std::vector<std::string> disable_thing(const std::string&, const std::string&, UnixSeconds,
                                         const AuditEvent&) override {
    fail();
  }
  void enable_thing(const std::string&, UnixSeconds, const AuditEvent&) override { fail(); }
  std::optional<PolicyVersion> find_policy(const std::string&) override { fail(); }
  std::vector<PolicyVersion> policy_versions(const std::string&) override { fail(); }
  EnrollmentRequest submit_request(const EnrollmentRequest&, const AuditEvent&) override { fail(); }
  std::optional<EnrollmentRequest> find_request(const std::string&, const std::string&) override {
    fail();
  }
  std::vector<EnrollmentRequest> list_requests(std::optional<RequestStatus>) override { fail(); }
  EnrollmentRequest decide_request(const std::string&, bool, const std::string&, UnixSeconds,
                                   const AuditEvent&) override {
    fail();
  }
  std::vector<RevocationLookup> revocation_entries_for(const std::vector<std::string>&) override {
    fail();
  }
  std::int64_t published_crl_number() override { fail(); }
  std::vector<RevocationEntry> revocation_entries(UnixSeconds) override { fail(); }
  CrlDraft prepare_crl(UnixSeconds) override { fail(); }
  PublishedCrl publish_crl(const PublishedCrl&) override { fail(); }
  std::optional<PublishedCrl> published_crl() override { fail(); }
  void append_audit(const AuditEvent&) override { fail(); }
  std::vector<AuditEvent> audit_since(UnixSeconds) override { fail(); }
  RegistryStats stats(UnixSeconds) override { fail(); }
  void ping() override { fail(); }
  std::vector<BrokerSyncState> broker_sync_states(bool, std::size_t) override { fail(); }
  std::int64_t broker_pending_count() override { fail(); }
  void mark_broker_applied(const std::string&, std::int64_t) override { fail(); }
  void put_user(const User&, const AuditEvent&, bool) override { fail(); }
  std::optional<User> find_user(const std::string&) override { fail(); }

 private:
  [[noreturn]] static void fail() { throw StoreUnavailable(kLibpqMessage); }
};

TEST(RegistryUnavailable, TheClientIsToldNothingWasIssuedAndNothingAboutTheDatabase) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  UnreachableStore store;
  const EstService service(authority, store, {EnrollmentProfile{}}, [now] { return now; });
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const http::Request request{
      "POST",
      "/.well-known/est/simpleenroll",
      {{"Content-Type", "application/pkcs10"},
       {"Authorization", "Basic " + crypto::base64_encode("anyone:guess")}},
      crypto::base64_encode(testing::make_csr("DeviceAlpha", key).to_der())};
  const auto outcome = service.handle(request, http::TlsPeer{});
  EXPECT_EQ(outcome.response.status, 503);
  EXPECT_EQ(outcome.response.body, "the registry is unavailable, nothing was issued\n");
  EXPECT_EQ(outcome.response.header("Retry-After"), "10");
  EXPECT_EQ(outcome.log_detail, kLibpqMessage) << "the operator's log keeps the reason";
  EXPECT_TRUE(outcome.auth_failure.empty()) << "an unreachable registry is no failed login";
}

}  // namespace
}  // namespace estfleet::est
