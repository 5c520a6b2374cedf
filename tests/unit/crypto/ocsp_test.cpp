#include "crypto/ocsp.hpp"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include "crypto/der.hpp"
#include "crypto/error.hpp"
#include "pki_fixture.hpp"

namespace estfleet::crypto {
namespace {

using testing::kDay;
using testing::kNow;
using testing::TestPki;

// A delegated responder the issuing CA certified for OCSP signing.
struct Responder {
  PrivateKey key = PrivateKey::generate(KeyType::ec_p256);
  Certificate cert;
  explicit Responder(const TestPki& pki) : cert(make(pki)) {}

 private:
  Certificate make(const TestPki& pki) const {
    CertificateSpec spec;
    spec.serial = "\x33";
    spec.subject_der = name_der({{"CN", "responder"}});
    spec.public_key = key.get();
    spec.not_before = kNow - kDay;
    spec.not_after = kNow + kDay;
    spec.key_usage = {"digitalSignature"};
    spec.extended_key_usage = {"OCSPSigning"};
    spec.extra_extensions = {{"1.3.6.1.5.5.7.48.1.5", false, std::string("\x05\x00", 2)}};
    return sign_certificate(spec, &pki.issuing, pki.issuing_key.get());
  }
};

TEST(OcspRequest, ReadsSerialIssuerAndNonce) {
  const TestPki pki;
  const auto request = OcspRequest::from_der(
      build_ocsp_request(pki.leaf, pki.issuing, std::string("n0nce-16-bytes!!")));
  ASSERT_EQ(request.count(), 1);
  EXPECT_EQ(request.serial_hex(0), pki.leaf.serial_hex());
  EXPECT_TRUE(request.names_issuer(0, pki.issuing));
  EXPECT_FALSE(request.names_issuer(0, pki.root));
  ASSERT_TRUE(request.nonce());
  EXPECT_NE(request.nonce()->find("n0nce-16-bytes!!"), std::string::npos);

  const auto without =
      OcspRequest::from_der(build_ocsp_request(pki.leaf, pki.issuing, std::nullopt));
  EXPECT_EQ(without.nonce(), std::nullopt);
}

TEST(OcspRequest, RefusesWhatIsNotAnOcspRequest) {
  const TestPki pki;
  EXPECT_THROW(OcspRequest::from_der(""), CryptoError);
  EXPECT_THROW(OcspRequest::from_der("\x30\x03\x02\x01\x01"), CryptoError);
  EXPECT_THROW(OcspRequest::from_der(pki.leaf.to_der()), CryptoError);
  const auto good = build_ocsp_request(pki.leaf, pki.issuing, std::nullopt);
  EXPECT_THROW(OcspRequest::from_der(good + std::string(1, '\0')), CryptoError);
}

TEST(OcspRequest, CountsItsCertIdsFromTheLayoutAlone) {
  const TestPki pki;
  std::vector<std::string> requests = {
      build_ocsp_request(pki.leaf, pki.issuing, std::nullopt),
      build_ocsp_request(std::vector<Certificate>(3, pki.leaf), pki.issuing, std::string("n")),
      build_ocsp_request(std::vector<Certificate>(800, pki.leaf), pki.issuing, std::nullopt)};
  {
    // requestorName, optional, comes before the list.
    const OcspRequestPtr named(OCSP_REQUEST_new());
    ASSERT_EQ(OCSP_request_set1_name(named.get(), X509_get_subject_name(pki.leaf.get())), 1);
    for (int i = 0; i < 2; ++i) {
      ASSERT_NE(OCSP_request_add0_id(named.get(),
                                     OCSP_cert_to_id(nullptr, pki.leaf.get(), pki.issuing.get())),
                nullptr);
    }
    requests.push_back(encode_der(named.get(), i2d_OCSP_REQUEST, "the OCSP request"));
  }
  for (const auto& der : requests) {
    ASSERT_EQ(OcspRequest::count_in(der),
              static_cast<std::size_t>(OcspRequest::from_der(der).count()));
  }
  EXPECT_EQ(OcspRequest::count_in(requests[2]), 800U);
  // An explicit version, optional too, is skipped; the requests themselves are not looked into.
  const auto versioned = der_element(
      0x30,
      der_element(0x30, der_element(0xA0, std::string("\x02\x01\x00", 3)) +
                            der_element(0x30, der_element(0x30, "a") + der_element(0x30, "b"))));
  EXPECT_EQ(OcspRequest::count_in(versioned), 2U);

  const auto& good = requests[0];
  for (const std::string& bad : {std::string(), std::string("\x30\x03\x02\x01\x01"),
                                 pki.leaf.to_der(), good.substr(0, good.size() - 1),
                                 std::string("\x30\x80\x30\x80\x30\x00\x00\x00\x00\x00", 10)}) {
    EXPECT_EQ(OcspRequest::count_in(bad), std::nullopt) << bad.size();
  }
}

TEST(OcspResponse, SignsGoodRevokedAndUnknownAndEchoesTheNonce) {
  const TestPki pki;
  const Responder responder(pki);
  const auto request =
      OcspRequest::from_der(build_ocsp_request(pki.leaf, pki.issuing, std::string("abc")));
  OcspResponseBuilder builder;
  builder.add(request.cert_id(0), {OcspCertState::good, {}, std::nullopt}, kNow, kNow + kDay);
  builder.add(request.cert_id(0),
              {OcspCertState::revoked, kNow - std::chrono::hours(2), CrlReason::keyCompromise},
              kNow, kNow + kDay);
  builder.add(request.cert_id(0), {OcspCertState::revoked, kNow, CrlReason::unspecified}, kNow,
              kNow + kDay);
  builder.add(request.cert_id(0), {OcspCertState::unknown, {}, std::nullopt}, kNow,
              kNow + std::chrono::hours(1));
  builder.copy_nonce(request);
  const auto response =
      OcspResponse::from_der(builder.sign(responder.cert, responder.key.get(), {pki.issuing}));

  EXPECT_EQ(response.status(), OcspResponseStatus::successful);
  EXPECT_EQ(response.nonce(), request.nonce());
  const auto singles = response.responses();
  ASSERT_EQ(singles.size(), 4U);
  EXPECT_EQ(singles[0].serial_hex, pki.leaf.serial_hex());
  EXPECT_EQ(singles[0].status.state, OcspCertState::good);
  EXPECT_EQ(singles[0].this_update, kNow);
  EXPECT_EQ(singles[0].next_update, kNow + kDay);
  EXPECT_EQ(singles[1].status.state, OcspCertState::revoked);
  EXPECT_EQ(singles[1].status.reason, CrlReason::keyCompromise);
  EXPECT_EQ(singles[1].status.revoked_at, kNow - std::chrono::hours(2));
  EXPECT_EQ(singles[2].status.reason, std::nullopt);
  EXPECT_EQ(singles[3].status.state, OcspCertState::unknown);
  EXPECT_EQ(singles[3].next_update, kNow + std::chrono::hours(1));

  const auto certs = response.certificates();
  ASSERT_EQ(certs.size(), 2U);
  EXPECT_EQ(certs[0].to_der(), responder.cert.to_der());
  EXPECT_EQ(certs[1].to_der(), pki.issuing.to_der());
}

TEST(OcspResponse, VerifiesOnlyAgainstTheRightRootAndOnlyForADelegatedSigner) {
  const TestPki pki;
  const TestPki other;
  const Responder responder(pki);
  const auto request =
      OcspRequest::from_der(build_ocsp_request(pki.leaf, pki.issuing, std::nullopt));
  const auto sign_with = [&](const Certificate& cert, const PrivateKey& key) {
    OcspResponseBuilder builder;
    builder.add(request.cert_id(0), {OcspCertState::good, {}, std::nullopt}, kNow, kNow + kDay);
    return OcspResponse::from_der(builder.sign(cert, key.get(), {pki.issuing}));
  };
  const auto response = sign_with(responder.cert, responder.key);
  EXPECT_EQ(response.verify({pki.root}, kNow), std::nullopt);
  EXPECT_TRUE(response.verify({other.root}, kNow));
  // The responder certificate has expired by then.
  EXPECT_TRUE(response.verify({pki.root}, kNow + 2 * kDay));
  // A client certificate of the same CA is not an OCSP signer.
  EXPECT_TRUE(sign_with(pki.leaf, pki.device_key).verify({pki.root}, kNow));
}

TEST(OcspResponse, ErrorResponsesCarryOnlyTheirStatus) {
  for (const auto status :
       {OcspResponseStatus::malformed_request, OcspResponseStatus::internal_error,
        OcspResponseStatus::try_later, OcspResponseStatus::unauthorized}) {
    const auto response = OcspResponse::from_der(ocsp_error_response(status));
    EXPECT_EQ(response.status(), status);
    EXPECT_TRUE(response.responses().empty());
    EXPECT_EQ(response.nonce(), std::nullopt);
    EXPECT_TRUE(response.verify({}));
  }
  EXPECT_THROW(OcspResponse::from_der("junk"), CryptoError);
}

}  // namespace
}  // namespace estfleet::crypto
