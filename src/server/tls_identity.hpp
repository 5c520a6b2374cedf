// The EST server's own TLS certificate, the one `init` issued into the data folder: kept marked
// as the EST server's (id-kp-cmcRA, which est-client requires) and renewed before it expires, so
// that no device is ever stranded by a server certificate nobody renewed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ca/authority.hpp"
#include "crypto/certificate.hpp"
#include "server/config.hpp"

namespace estfleet::server {

// How long the server certificate `init` issues, and each renewal, is valid.
inline constexpr std::chrono::seconds kServerCertificateValidity{std::chrono::hours(24 * 397)};
// Where `init` puts the EST server's certificate chain and key, under the data folder.
inline constexpr const char* kServerCertificateFile = "tls/server.pem";
inline constexpr const char* kServerKeyFile = "tls/server.key";

struct TlsIdentityCheck {
  enum class Outcome {
    kept,      // this CA's, marked, not yet due
    renewed,   // this CA's, and reissued (reason says why); the chain file was replaced
    not_ours,  // another CA's, or files other than the data folder's own: left alone, see warning
  };
  Outcome outcome = Outcome::kept;
  std::string reason;   // renewed: why ("lacks id-kp-cmcRA", "expires on ...")
  std::string warning;  // not_ours: what a device will meet (no mark, near expiry); may be empty
  crypto::Certificate certificate;  // the leaf in use after the check
};

// Reads the configured TLS chain and key. When they are the data folder's own files
// (tls/server.pem and tls/server.key, not a link), a leaf signed by this CA's issuing key (current
// or previous) is renewed when the key file holds another key (an operator replaced a key that may
// have leaked), it lacks id-kp-cmcRA, comes from the previous CA, or is past two thirds of its
// life (or expired), or is not valid yet (issued while the clock ran ahead): the same subject and
// names, for the key in the key file, a new serial,
// written over the chain file atomically (the key file is never written). Throws
// std::runtime_error naming the file that cannot be read or written, and nothing changes.
TlsIdentityCheck ensure_tls_identity(const Config& config, const ca::Authority& authority,
                                     crypto::TimePoint now);

// Runs ensure_tls_identity on check_now() and, once started, every `interval`, and calls
// `reload` whenever the certificate in the file is not the one `reload` last loaded (serve
// reloads its listener there; the first check, before the listener exists, counts as loaded):
// after its own renewal, after another server sharing the data folder renewed it, and again
// after a reload that failed. A failure is logged, never thrown: the certificate in use stays,
// and the next check tries again.
class TlsIdentityKeeper {
 public:
  using Clock = std::function<crypto::TimePoint()>;
  TlsIdentityKeeper(const Config& config, const ca::Authority& authority, Clock clock,
                    std::function<void()> reload,
                    std::chrono::seconds interval = std::chrono::hours(1));
  ~TlsIdentityKeeper();
  TlsIdentityKeeper(const TlsIdentityKeeper&) = delete;
  TlsIdentityKeeper& operator=(const TlsIdentityKeeper&) = delete;

  void check_now();
  void start();
  void stop();

 private:
  void run();

  const Config& config_;
  const ca::Authority& authority_;
  Clock clock_;
  std::function<void()> reload_;
  std::string loaded_leaf_;  // DER; only the keeper's own thread (or check_now's) touches it
  std::chrono::seconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace estfleet::server
