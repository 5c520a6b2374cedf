// Learning a new root after the server's CA rolled over (RFC 7030 §4.1.3): the cacerts answer
// carries the new root (NewWithNew) and NewWithOld, the new root's key signed by the old root's.
// A device trusts the new root only when such a link verifies directly under a root it already
// trusts, so an unauthenticated root is never installed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"

namespace estfleet::client {

struct LearnedRoot {
  crypto::Certificate root;
  crypto::Certificate link;  // the NewWithOld that authenticated it
};

// The self-signed CA certificates in `cacerts` that `anchors` does not hold yet and that a link in
// `cacerts` authenticates: a CA certificate with the root's name and public key, not
// self-signed, that OpenSSL verifies at `now` with `anchors` as the trust anchors and no other
// certificate. Roots without such a link are left out.
std::vector<LearnedRoot> authenticated_new_roots(const std::vector<crypto::Certificate>& anchors,
                                                 const std::vector<crypto::Certificate>& cacerts,
                                                 crypto::TimePoint now);

// Adds `roots` to the PEM trust anchor file `file` (keeping what it holds), atomically, mode 0644.
// Returns the roots actually added (those not in the file yet).
std::vector<crypto::Certificate> add_trust_anchors(const std::filesystem::path& file,
                                                   const std::vector<crypto::Certificate>& roots);

}  // namespace estfleet::client
