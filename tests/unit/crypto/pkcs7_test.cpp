#include "crypto/pkcs7.hpp"

#include <gtest/gtest.h>

#include "crypto/error.hpp"
#include "pki_fixture.hpp"

namespace estfleet::crypto {
namespace {

TEST(Pkcs7CertsOnly, RoundTripsTheChainInOrder) {
  const testing::TestPki pki;
  const std::vector<Certificate> chain{pki.leaf, pki.issuing, pki.root};
  const std::string der = pkcs7_certs_only(chain);
  const auto parsed = parse_pkcs7_certs_only(der);
  ASSERT_EQ(parsed.size(), 3u);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(parsed[i].to_der(), chain[i].to_der()) << i;
  }
}

TEST(Pkcs7CertsOnly, IsADegenerateSignedDataWithoutSigners) {
  const testing::TestPki pki;
  const std::string der = pkcs7_certs_only({pki.leaf});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(p7);
  EXPECT_TRUE(PKCS7_type_is_signed(p7.get()));
  EXPECT_EQ(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
  EXPECT_EQ(sk_X509_num(p7->d.sign->cert), 1);
}

// What OpenSSL's own PKCS7 encoder makes of `certs`: the bytes pkcs7_certs_only writes by hand.
std::string openssl_certs_only(const std::vector<Certificate>& certs) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    throw CryptoError("cannot build the reference PKCS#7");
  }
  for (const auto& cert : certs) {
    if (PKCS7_add_certificate(p7.get(), cert.get()) != 1) {
      throw CryptoError("cannot add a certificate to the reference PKCS#7");
    }
  }
  const int size = i2d_PKCS7(p7.get(), nullptr);
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(p7.get(), &out);
  return der;
}

TEST(Pkcs7CertsOnly, IsByteForByteWhatOpensslEncodes) {
  const testing::TestPki pki;
  // One certificate just signed (a simpleenroll response: its DER kept from signing), a chain
  // (cacerts), certificates read from PEM (no DER kept) and from DER, and none at all.
  const std::vector<std::vector<Certificate>> cases{
      {pki.leaf},
      {pki.leaf, pki.issuing, pki.root},
      {Certificate::from_pem(pki.root.to_pem()), Certificate::from_der(pki.leaf.to_der())},
      {}};
  for (const auto& certs : cases) {
    EXPECT_EQ(pkcs7_certs_only(certs), openssl_certs_only(certs)) << certs.size();
  }
}

void expect_refused(const std::string& der) {
  try {
    parse_pkcs7_certs_only(der);
    ADD_FAILURE() << "accepted " << der.size() << " bytes";
  } catch (const CryptoError& e) {
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST(Pkcs7CertsOnly, RefusesGarbageTruncationAndTrailingBytes) {
  const testing::TestPki pki;
  const std::string der = pkcs7_certs_only({pki.leaf});
  expect_refused("");
  expect_refused("garbage");
  expect_refused(der + "x");
  expect_refused(der.substr(0, der.size() - 1));
  expect_refused(pki.leaf.to_der());
}

TEST(Pkcs7CertsOnly, RefusesOtherContentTypes) {
  Pkcs7Ptr p7(PKCS7_new());
  ASSERT_EQ(PKCS7_set_type(p7.get(), NID_pkcs7_data), 1);
  const int size = i2d_PKCS7(p7.get(), nullptr);
  ASSERT_GT(size, 0);
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(p7.get(), &out);
  expect_refused(der);
}

}  // namespace
}  // namespace estfleet::crypto
