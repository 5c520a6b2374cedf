// Trust anchors on the device, and learning a new root after the server's CA rolled over
// (RFC 7030 §4.1.3): the cacerts answer carries the new root (NewWithNew) and NewWithOld, the new
// root's key signed by the old root's. A device trusts the new root only when such a link verifies
// directly under a self-signed root it already trusts, so an unauthenticated root is never
// installed.
//
// Anchors are self-signed roots only. An issuing CA taken as an anchor would let its key, which
// is online on the server, vouch for a root of its own making: a link "evil root signed by the
// issuing CA" verifies directly under it, and the device would add the evil root for good.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"

namespace estfleet::client {

// Whether `cert` is a self-signed CA certificate (a root): its issuer is its subject and its own
// key verifies its signature.
bool is_self_signed_root(const crypto::Certificate& cert);

// The self-signed roots of `certificates`, in their order; anything else is left out.
std::vector<crypto::Certificate> self_signed_roots(
    const std::vector<crypto::Certificate>& certificates);

// The trust anchors a PEM file holds: its self-signed roots. Other certificates (an issuing CA,
// as `cacerts --out` wrote it before it wrote roots only) are ignored: a chain is verified up to
// a root anyway, so they never added trust, only the danger above. Throws ClientError when the
// PEM is unreadable or holds no root.
std::vector<crypto::Certificate> trust_anchors_from_pem(std::string_view pem);

// The roots an anchor file written from a cacerts answer holds (`est-client cacerts --out`), when
// the answer came over a connection verified with `anchors`: their self-signed roots, then each
// new root of `cacerts` that authenticated_new_roots vouches for. Never a certificate of the
// answer that nothing already trusted vouches for, and never an issuing CA.
std::vector<crypto::Certificate> roots_to_trust(const std::vector<crypto::Certificate>& anchors,
                                                const std::vector<crypto::Certificate>& cacerts,
                                                crypto::TimePoint now);

struct LearnedRoot {
  crypto::Certificate root;
  crypto::Certificate link;  // the NewWithOld that authenticated it
};

// The self-signed CA certificates in `cacerts` that `anchors` does not hold yet and that a link in
// `cacerts` authenticates: a CA certificate with the root's name and public key, not
// self-signed, that OpenSSL verifies at `now` with the self-signed roots of `anchors` as the
// trust anchors and no other certificate. Roots without such a link are left out.
std::vector<LearnedRoot> authenticated_new_roots(const std::vector<crypto::Certificate>& anchors,
                                                 const std::vector<crypto::Certificate>& cacerts,
                                                 crypto::TimePoint now);

// Adds `roots` to the PEM trust anchor file `file` (keeping the roots it holds), atomically, mode
// 0644. Returns the roots actually added (those not in the file yet). When it writes, anything in
// the file that is not a self-signed root is dropped.
std::vector<crypto::Certificate> add_trust_anchors(const std::filesystem::path& file,
                                                   const std::vector<crypto::Certificate>& roots);

}  // namespace estfleet::client
