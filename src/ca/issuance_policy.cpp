#include "ca/issuance_policy.hpp"

#include <openssl/x509v3.h>

#include "crypto/ossl.hpp"

namespace estfleet::ca {
namespace {

std::string kind_of(const GENERAL_NAME* name) {
  switch (name->type) {
    case GEN_DNS:
      return "dns";
    case GEN_IPADD:
      return "ip";
    case GEN_URI:
      return "uri";
    case GEN_EMAIL:
      return "email";
    case GEN_DIRNAME:
      return "directoryName";
    case GEN_OTHERNAME:
      return "otherName";
    case GEN_RID:
      return "registeredID";
    default:
      return "unsupported";
  }
}

}  // namespace

std::optional<std::string> refuse_subject_alt_name(const std::string& san_der,
                                                   const IssuancePolicy& policy) {
  const auto* p = reinterpret_cast<const unsigned char*>(san_der.data());
  crypto::GeneralNamesPtr names(d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(san_der.size())));
  if (!names || p != reinterpret_cast<const unsigned char*>(san_der.data()) + san_der.size()) {
    return std::string("the CSR's subjectAltName extension is not valid DER");
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) {
    return std::string("the CSR's subjectAltName extension is empty");
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const std::string kind = kind_of(sk_GENERAL_NAME_value(names.get(), i));
    if (!policy.allowed_san_kinds.contains(kind)) {
      return "subjectAltName entries of kind " + kind + " are not allowed by this profile";
    }
  }
  return std::nullopt;
}

}  // namespace estfleet::ca
