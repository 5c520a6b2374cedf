#include "crypto/crl.hpp"

#include <gtest/gtest.h>

#include "crypto/error.hpp"
#include "pki_fixture.hpp"

namespace estfleet::crypto {
namespace {

using testing::kDay;
using testing::kNow;
using testing::TestPki;

CrlSpec spec_with_entries() {
  CrlSpec spec;
  spec.number = 42;
  spec.this_update = kNow;
  spec.next_update = kNow + kDay;
  spec.entries = {
      {"7F01", kNow - std::chrono::hours(3), CrlReason::keyCompromise},
      {"0A", kNow - std::chrono::hours(2), CrlReason::superseded},
      {"7F00AB", kNow - std::chrono::hours(1), CrlReason::unspecified},
      {"1234567890ABCDEF1234567890ABCDEF", kNow, std::nullopt},
  };
  return spec;
}

TEST(Crl, SignsAV2CrlWithNumberDatesAkiAndEntries) {
  const TestPki pki;
  const auto crl = Crl::from_der(sign_crl(spec_with_entries(), pki.issuing, pki.issuing_key.get()));

  EXPECT_EQ(crl.version(), 2);
  EXPECT_EQ(crl.issuer_der(), pki.issuing.subject_der());
  EXPECT_EQ(crl.number(), 42);
  EXPECT_EQ(crl.this_update(), kNow);
  EXPECT_EQ(crl.next_update(), kNow + kDay);
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(pki.issuing.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(crl.authority_key_id(),
            std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                        static_cast<std::size_t>(ASN1_STRING_length(ski))));
  EXPECT_TRUE(crl.signature_valid(pki.issuing.public_key()));
  EXPECT_FALSE(crl.signature_valid(pki.root.public_key()));

  const auto entries = crl.entries();
  ASSERT_EQ(entries.size(), 4U);
  const auto compromised = crl.find("7F01");
  ASSERT_TRUE(compromised);
  EXPECT_EQ(compromised->reason, CrlReason::keyCompromise);
  EXPECT_EQ(compromised->revoked_at, kNow - std::chrono::hours(3));
  EXPECT_EQ(crl.find("0A")->reason, CrlReason::superseded);
  // RFC 5280: unspecified is written as no reasonCode at all.
  EXPECT_EQ(crl.find("7F00AB")->reason, std::nullopt);
  EXPECT_EQ(crl.find("1234567890ABCDEF1234567890ABCDEF")->revoked_at, kNow);
  EXPECT_FALSE(crl.find("7F02"));
}

TEST(Crl, AnEmptyCrlHasNoEntriesAndRoundTripsThroughPem) {
  const TestPki pki;
  CrlSpec spec;
  spec.number = 1;
  spec.this_update = kNow;
  spec.next_update = kNow + std::chrono::seconds(10);
  const auto der = sign_crl(spec, pki.issuing, pki.issuing_key.get());
  const auto crl = Crl::from_pem(Crl::from_der(der).to_pem());
  EXPECT_EQ(crl.to_der(), der);
  EXPECT_TRUE(crl.entries().empty());
  EXPECT_EQ(crl.number(), 1);
  EXPECT_EQ(*crl.next_update() - crl.this_update(), std::chrono::seconds(10));
}

TEST(Crl, NumbersAreWrittenExactlyEvenWhenLarge) {
  const TestPki pki;
  CrlSpec spec;
  spec.number = 4'000'000'000'123;
  spec.this_update = kNow;
  spec.next_update = kNow + kDay;
  EXPECT_EQ(Crl::from_der(sign_crl(spec, pki.issuing, pki.issuing_key.get())).number(),
            4'000'000'000'123);
}

TEST(Crl, RefusesBadSpecs) {
  const TestPki pki;
  auto spec = spec_with_entries();
  spec.number = 0;
  EXPECT_THROW(sign_crl(spec, pki.issuing, pki.issuing_key.get()), CryptoError);
  spec = spec_with_entries();
  spec.next_update = spec.this_update;
  EXPECT_THROW(sign_crl(spec, pki.issuing, pki.issuing_key.get()), CryptoError);
  for (const std::string serial : {"", "XYZ", "-1F", "12 34"}) {
    spec = spec_with_entries();
    spec.entries.push_back({serial, kNow, std::nullopt});
    EXPECT_THROW(sign_crl(spec, pki.issuing, pki.issuing_key.get()), CryptoError) << serial;
  }
}

TEST(Crl, ParsingRefusesWhatIsNotACrl) {
  const TestPki pki;
  EXPECT_THROW(Crl::from_der("not a crl"), CryptoError);
  EXPECT_THROW(Crl::from_der(pki.leaf.to_der()), CryptoError);
  EXPECT_THROW(Crl::from_pem(pki.leaf.to_pem()), CryptoError);
  const auto der = sign_crl(spec_with_entries(), pki.issuing, pki.issuing_key.get());
  EXPECT_THROW(Crl::from_der(der + "x"), CryptoError);
}

TEST(CrlReason, NamesRoundTripAndUnknownNamesAreRefused) {
  for (const auto reason :
       {CrlReason::unspecified, CrlReason::keyCompromise, CrlReason::cACompromise,
        CrlReason::affiliationChanged, CrlReason::superseded, CrlReason::cessationOfOperation,
        CrlReason::certificateHold, CrlReason::removeFromCRL, CrlReason::privilegeWithdrawn,
        CrlReason::aACompromise}) {
    EXPECT_EQ(parse_crl_reason(crl_reason_name(reason)), reason);
  }
  EXPECT_EQ(parse_crl_reason("keycompromise"), std::nullopt);
  EXPECT_EQ(parse_crl_reason(""), std::nullopt);
  EXPECT_EQ(static_cast<int>(*parse_crl_reason("aACompromise")), 10);
}

}  // namespace
}  // namespace estfleet::crypto
