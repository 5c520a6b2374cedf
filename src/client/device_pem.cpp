#include "client/device_pem.hpp"

namespace estfleet::client {

std::string certificate_chain_pem(const Issued& issued) {
  std::string pem = issued.certificate.to_pem();
  for (const auto& ca : issued.ca_certificates) {
    if (ca.subject_der() != ca.issuer_der()) {
      pem += ca.to_pem();
    }
  }
  return pem;
}

}  // namespace estfleet::client
