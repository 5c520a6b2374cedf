// `est-server ca rollover` (RFC 7030 §4.1.3) and loading a data folder's CA with the one a rollover
// replaced. After a rollover the data folder holds:
//   ca/root.pem, root.key, issuing.pem, issuing.key, chain.pem   the new generation
//   ca/previous/root.pem, root.key, issuing.pem, issuing.key, chain.pem   the replaced one (keys
//   0600) ca/previous/old_with_new.pem, new_with_old.pem               the two link certificates
//   tls/server.pem   the server certificate from the new issuing CA, the new issuing CA, NewWithOld
//   crl/previous.der, previous.pem   the previous CA's CRL, while its certificates may be valid
// and rolled-over-<unix time>/ holds the ca/ and tls/ folders as they were before.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ca/authority.hpp"
#include "crypto/certificate.hpp"
#include "server/config.hpp"

namespace estfleet::server {

inline constexpr const char* kPreviousCaDir = "previous";  // inside the CA folder
inline constexpr const char* kOldWithNewFile = "old_with_new.pem";
inline constexpr const char* kNewWithOldFile = "new_with_old.pem";

// The configured CA and, when the CA folder holds previous/, the CA a rollover replaced with its
// links. Throws std::runtime_error naming the file that is missing or wrong.
ca::Authority load_authority(const Config& config);

struct CaRolloverOptions {
  std::filesystem::path data_dir;
  std::optional<std::chrono::seconds> root_validity;     // --validity; default 20 years
  std::optional<std::chrono::seconds> issuing_validity;  // --issuing-validity; default 10 years
  // Roll over although the previous rollover's transition is still running: that previous CA is
  // dropped (moved aside with the rest, not deleted) and its certificates stop renewing.
  bool force = false;
};

struct CaRolloverResult {
  crypto::Certificate root;
  crypto::Certificate issuing;
  crypto::Certificate old_with_new;
  crypto::Certificate new_with_old;
  crypto::Certificate tls_server;
  crypto::TimePoint transition_end;  // the replaced issuing CA's notAfter
  std::filesystem::path backup;      // where the ca/ and tls/ folders as they were now are
  // A previous CA still in its transition that --force dropped from service: its subject.
  std::optional<std::string> dropped_previous;
  // What did not work after the rollover was committed (the audit row, the first CRL or OCSP
  // responder of the new CA); `serve` catches up on the latter two when it starts.
  std::vector<std::string> warnings;
};

// Creates the new root and issuing CA and the links, and swaps them in as one step: everything is
// written into a staging folder first, checked by loading it, and then exchanged with ca/ and
// tls/ (renameat2 RENAME_EXCHANGE); if anything fails before, the data folder is left exactly as
// it was. Throws std::runtime_error with one sentence for every refusal.
CaRolloverResult roll_over_ca(const CaRolloverOptions& options, crypto::TimePoint now);

}  // namespace estfleet::server
