#include "client/trust_update.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <system_error>

#include "common/files.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;

bool self_signed(const crypto::Certificate& cert) {
  return cert.subject_der() == cert.issuer_der() &&
         X509_verify(cert.get(), X509_get0_pubkey(cert.get())) == 1;
}

bool holds(const std::vector<crypto::Certificate>& certs, const crypto::Certificate& cert) {
  const auto der = cert.to_der();
  return std::any_of(certs.begin(), certs.end(),
                     [&](const crypto::Certificate& c) { return c.to_der() == der; });
}

}  // namespace

std::vector<LearnedRoot> authenticated_new_roots(const std::vector<crypto::Certificate>& anchors,
                                                 const std::vector<crypto::Certificate>& cacerts,
                                                 crypto::TimePoint now) {
  std::vector<LearnedRoot> learned;
  if (anchors.empty()) {
    return learned;
  }
  const crypto::TrustStore trusted(anchors);
  for (const auto& root : cacerts) {
    if (!root.is_ca() || !self_signed(root) || holds(anchors, root)) {
      continue;
    }
    for (const auto& link : cacerts) {
      if (link.subject_der() != root.subject_der() || !link.is_ca() || self_signed(link) ||
          EVP_PKEY_eq(link.public_key(), root.public_key()) != 1) {
        continue;
      }
      // Directly under an anchor: no other certificate may take part.
      if (!trusted.verify(link, {}, now)) {
        learned.push_back(LearnedRoot{root, link});
        break;
      }
    }
  }
  return learned;
}

std::vector<crypto::Certificate> add_trust_anchors(const fs::path& file,
                                                   const std::vector<crypto::Certificate>& roots) {
  std::vector<crypto::Certificate> present;
  std::string pem;
  std::error_code ec;
  if (fs::exists(file, ec)) {
    pem = common::read_file(file);
    present = crypto::Certificate::chain_from_pem(pem);
  }
  std::vector<crypto::Certificate> added;
  for (const auto& root : roots) {
    if (!holds(present, root) && !holds(added, root)) {
      added.push_back(root);
    }
  }
  if (added.empty()) {
    return added;
  }
  if (!pem.empty() && pem.back() != '\n') {
    pem += '\n';
  }
  for (const auto& root : added) {
    pem += root.to_pem();
  }
  common::write_file_atomically(file, pem,
                                fs::perms::owner_read | fs::perms::owner_write |
                                    fs::perms::group_read | fs::perms::others_read);
  return added;
}

}  // namespace estfleet::client
