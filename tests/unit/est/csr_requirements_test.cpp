// csrattrs per profile: the RFC 9908 template announced, and enforce_csrattrs refusing CSRs.
#include <gtest/gtest.h>

#include "crypto/csr.hpp"
#include "crypto/encoding.hpp"
#include "est/csr_attributes.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

EnrollmentProfile strict_profile() {
  EnrollmentProfile profile;
  profile.csrattrs.key_type = crypto::KeyType::ec_p384;
  profile.csrattrs.subject = {{"2.5.4.10", "Acme Sensors"}, {"2.5.4.11", std::nullopt}};
  profile.csrattrs.extensions = {"2.5.29.17"};
  profile.csrattrs.enforce = true;
  return profile;
}

crypto::CertificateRequest csr(crypto::KeyType type,
                               const std::vector<std::pair<std::string, std::string>>& subject,
                               bool with_san) {
  const auto key = crypto::PrivateKey::generate(type);
  crypto::CsrSpec spec;
  spec.subject_der = crypto::name_der(subject);
  if (with_san) {
    spec.subject_alt_names = {"DNS:device.example"};
  }
  return crypto::build_csr(spec, key);
}

void expect_refusal(const crypto::CertificateRequest& request, const EnrollmentProfile& profile,
                    const std::string& needle, bool check_key = true, bool check_subject = true) {
  try {
    check_csr_requirements(request, profile, check_key, check_subject);
    ADD_FAILURE() << "accepted, expected: " << needle;
  } catch (const Refusal& refusal) {
    EXPECT_EQ(refusal.status(), 400);
    EXPECT_NE(std::string(refusal.what()).find(needle), std::string::npos) << refusal.what();
  }
}

TEST(CsrAttributes, TheDefaultAnnouncementIsUnchanged) {
  EnrollmentProfile plain;
  // SEQUENCE { ecPublicKey: prime256v1, ecdsa-with-SHA256 }, no template.
  EXPECT_EQ(crypto::hex_encode(csr_attributes_der(plain)),
            "3021301506072a8648ce3d0201310a06082a8648ce3d030107"
            "06082a8648ce3d040302");
  plain.require_pop = true;
  EXPECT_EQ(crypto::hex_encode(csr_attributes_der(plain)).substr(0, 26),
            "302c06092a864886f70d010907");
}

TEST(CsrAttributes, AProfileTemplateCarriesSubjectKeyAndExtensions) {
  const auto hex = crypto::hex_encode(csr_attributes_der(strict_profile()));
  EXPECT_NE(hex.find("2a864886f70d010910023d"), std::string::npos) << "the template attribute";
  EXPECT_NE(hex.find("2a864886f70d010910023e"), std::string::npos) << "the extension template";
  EXPECT_NE(hex.find(crypto::hex_encode("Acme Sensors")), std::string::npos);
  EXPECT_NE(hex.find("2b81040022"), std::string::npos) << "secp384r1";
  EXPECT_NE(hex.find("0603551d11"), std::string::npos) << "subjectAltName";
  EXPECT_NE(hex.find("3005060355040b"), std::string::npos) << "OU without a value";
}

TEST(CsrAttributes, EnforcementNamesWhatIsMissing) {
  const auto profile = strict_profile();
  const std::vector<std::pair<std::string, std::string>> good{
      {"CN", "DeviceAlpha"}, {"O", "Acme Sensors"}, {"OU", "lab"}};
  EXPECT_NO_THROW(
      check_csr_requirements(csr(crypto::KeyType::ec_p384, good, true), profile, true, true));
  expect_refusal(csr(crypto::KeyType::ec_p256, good, true), profile,
                 "the CSR's key is EC P-256, but csrattrs requires the key type ec-p384");
  expect_refusal(csr(crypto::KeyType::ec_p384, {{"CN", "D"}, {"OU", "lab"}}, true), profile,
                 "lacks the attribute O that csrattrs requires");
  expect_refusal(csr(crypto::KeyType::ec_p384, {{"CN", "D"}, {"O", "Other"}, {"OU", "x"}}, true),
                 profile, "attribute O is 'Other', csrattrs requires 'Acme Sensors'");
  expect_refusal(csr(crypto::KeyType::ec_p384, {{"CN", "D"}, {"O", "Acme Sensors"}}, true), profile,
                 "lacks the attribute OU");
  expect_refusal(csr(crypto::KeyType::ec_p384, good, false), profile,
                 "does not request the extension subjectAltName");
}

TEST(CsrAttributes, WhatEachOperationSkips) {
  const auto profile = strict_profile();
  // serverkeygen: the CSR's key is not certified; reenroll: the subject is the certificate's.
  EXPECT_NO_THROW(check_csr_requirements(
      csr(crypto::KeyType::ec_p256, {{"CN", "D"}, {"O", "Acme Sensors"}, {"OU", "x"}}, true),
      profile, false, true));
  EXPECT_NO_THROW(check_csr_requirements(csr(crypto::KeyType::ec_p384, {{"CN", "D"}}, true),
                                         profile, true, false));
  expect_refusal(csr(crypto::KeyType::ec_p384, {{"CN", "D"}}, false), profile,
                 "extension subjectAltName", true, false);
  auto relaxed = profile;
  relaxed.csrattrs.enforce = false;
  EXPECT_NO_THROW(check_csr_requirements(csr(crypto::KeyType::rsa_2048, {{"CN", "D"}}, false),
                                         relaxed, true, true));
}

}  // namespace
}  // namespace estfleet::est
