// What `serve` offers relying parties: GET /crl (the published CRL, DER), GET /crl/previous (the
// previous CA's during a CA rollover's transition), the OCSP responder at
// POST /ocsp and GET /ocsp/<request>, and the schedule that keeps the CRL and the responder
// certificate fresh.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "ca/authority.hpp"
#include "ca/ocsp_responder.hpp"
#include "crypto/certificate.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"
#include "server/config.hpp"

namespace estfleet::server {

inline constexpr std::string_view kPkixCrl = "application/pkix-crl";
inline constexpr std::string_view kOcspRequest = "application/ocsp-request";
inline constexpr std::string_view kOcspResponse = "application/ocsp-response";

// The request DER of GET /ocsp/<path>: the URL-encoding (RFC 6960 appendix A.1) of the base64 of
// the DER. Accepts percent-encoding, the standard and the URL-safe alphabet, with or without
// padding; nullopt when it is none of these.
std::optional<std::string> decode_ocsp_get_path(std::string_view encoded);

class RevocationService {
 public:
  using Clock = std::function<crypto::TimePoint()>;

  // Makes sure the OCSP responder files exist (creating them for a data folder made before
  // there were any) and publishes a CRL. Throws std::runtime_error when either fails.
  RevocationService(const Config& config, const ca::Authority& authority, registry::Store& store,
                    Clock clock);
  // Stops the schedule.
  ~RevocationService();
  RevocationService(const RevocationService&) = delete;
  RevocationService& operator=(const RevocationService&) = delete;

  // Whether `target` is /crl or /ocsp[/...] (this service's, not EST's).
  static bool serves(std::string_view target);
  // Never throws.
  http::Response handle(const http::Request& request) const;

  // A certificate may have been revoked or superseded in this process: issue a CRL soon (at most
  // one per second however many arrive; OCSP answers from the registry at once anyway).
  void revocation_changed();
  // Runs the schedule on its own thread until destruction: a CRL at half its validity, when a
  // superseded certificate's grace ends, after revocation_changed(), and a new responder
  // certificate when the old one nears its end.
  void start();

  // Issues and writes a CRL now, and serves it from then on; what the schedule runs. Throws what
  // refresh_crl throws.
  void publish_crl();

 private:
  http::Response crl_response() const;
  // The published CRL (DER), from memory; null while none is published. Asks the registry for
  // the published number at most once per check interval (another server sharing the registry may
  // have published a newer one) and reads the CRL itself only when that number grew.
  std::shared_ptr<const std::string> current_crl() const;
  // Serves `crl` from now on, unless a newer one is already served.
  void keep_crl(const registry::PublishedCrl& crl) const;
  http::Response previous_crl_response() const;
  http::Response ocsp_response(const http::Request& request) const;
  std::shared_ptr<const ca::ResponderIdentity> responder() const;
  void run();

  const Config& config_;
  const ca::Authority& authority_;
  registry::Store& store_;
  Clock clock_;
  ca::OcspResponder ocsp_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::shared_ptr<const ca::ResponderIdentity> responder_;
  crypto::TimePoint next_crl_;          // when the schedule issues the next CRL
  crypto::TimePoint last_published_{};  // when this process last issued one
  bool changed_ = false;                // revocation_changed() since the last CRL
  bool stopping_ = false;
  // The newest CRL this process has seen, by number, and when the registry's number was last read.
  mutable std::int64_t crl_number_ = 0;
  mutable std::shared_ptr<const std::string> crl_der_;
  std::thread thread_;
};

}  // namespace estfleet::server
