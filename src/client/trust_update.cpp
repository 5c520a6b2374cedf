#include "client/trust_update.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <iterator>
#include <system_error>

#include "client/errors.hpp"
#include "common/files.hpp"
#include "crypto/error.hpp"

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

bool is_self_signed_root(const crypto::Certificate& cert) {
  // Not is_ca(): OpenSSL takes a self-signed version 1 certificate for a CA too, and older
  // private roots are such.
  return X509_check_ca(cert.get()) != 0 && self_signed(cert);
}

std::vector<crypto::Certificate> self_signed_roots(
    const std::vector<crypto::Certificate>& certificates) {
  std::vector<crypto::Certificate> roots;
  std::copy_if(certificates.begin(), certificates.end(), std::back_inserter(roots),
               is_self_signed_root);
  return roots;
}

std::vector<crypto::Certificate> trust_anchors_from_pem(std::string_view pem) {
  std::vector<crypto::Certificate> certificates;
  try {
    certificates = crypto::Certificate::chain_from_pem(pem);
  } catch (const crypto::CryptoError& e) {
    throw ClientError(e.what());
  }
  auto roots = self_signed_roots(certificates);
  if (roots.empty()) {
    throw ClientError(
        "it holds no self-signed root CA certificate (an anchor file holds the root, e.g. the "
        "server's ca/root.pem or what est-client cacerts --out writes)");
  }
  return roots;
}

std::vector<crypto::Certificate> roots_to_trust(const std::vector<crypto::Certificate>& anchors,
                                                const std::vector<crypto::Certificate>& cacerts,
                                                crypto::TimePoint now) {
  auto roots = self_signed_roots(anchors);
  for (auto& learned : authenticated_new_roots(roots, cacerts, now)) {
    roots.push_back(std::move(learned.root));
  }
  return roots;
}

std::vector<LearnedRoot> authenticated_new_roots(const std::vector<crypto::Certificate>& anchors,
                                                 const std::vector<crypto::Certificate>& cacerts,
                                                 crypto::TimePoint now) {
  std::vector<LearnedRoot> learned;
  // Only roots: an issuing CA among the anchors would let the online issuing key sign a "link"
  // for any root it likes.
  const auto roots = self_signed_roots(anchors);
  if (roots.empty()) {
    return learned;
  }
  const crypto::TrustStore trusted(roots);
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
  std::error_code ec;
  if (fs::exists(file, ec)) {
    present = self_signed_roots(crypto::Certificate::chain_from_pem(common::read_file(file)));
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
  std::string pem;
  for (const auto& root : present) {
    pem += root.to_pem();
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
