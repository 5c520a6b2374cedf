#include "server/revocation_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/files.hpp"
#include "common/printable.hpp"
#include "crypto/crl.hpp"
#include "crypto/encoding.hpp"
#include "crypto/ocsp.hpp"
#include "est/media.hpp"
#include "server/revocation_files.hpp"

namespace estfleet::server {
namespace {

constexpr std::string_view kCrlPath = "/crl";
// The previous CA's CRL during a CA rollover's transition.
constexpr std::string_view kPreviousCrlPath = "/crl/previous";
constexpr std::string_view kOcspPath = "/ocsp";
// However many revocations arrive, CRLs are issued at most this often; after a failure the
// schedule retries this much later.
constexpr std::chrono::seconds kMinimumCrlInterval{1};
constexpr std::chrono::seconds kRetryAfterFailure{10};
// The schedule looks at the clock at least this often, so an injected clock that jumps ahead is
// noticed promptly.
constexpr std::chrono::seconds kLongestSleep{60};

http::Response method_not_allowed(std::string_view what, std::string_view allowed) {
  auto response = est::error_response(
      405, std::string(what) + " takes " + std::string(allowed == "GET" ? "GET" : "GET or POST"));
  response.headers.emplace_back("Allow", std::string(allowed));
  return response;
}

http::Response ocsp_body(std::string der) {
  return http::Response{200, {{"Content-Type", std::string(kOcspResponse)}}, std::move(der)};
}

}  // namespace

std::optional<std::string> decode_ocsp_get_path(std::string_view encoded) {
  std::string text;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%') {
      if (i + 2 >= encoded.size()) {
        return std::nullopt;
      }
      const int high = crypto::hex_digit_value(encoded[i + 1]);
      const int low = crypto::hex_digit_value(encoded[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    // The URL-safe alphabet (RFC 4648 §5) read as the standard one.
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    }
    text += c;
  }
  if (text.empty() || text.find_first_of(" \t\r\n") != std::string::npos) {
    return std::nullopt;
  }
  while (text.size() % 4 != 0) {
    text += '=';
  }
  return crypto::base64_decode(text);
}

RevocationService::RevocationService(const Config& config, const ca::Authority& authority,
                                     registry::Store& store, Clock clock)
    : config_(config),
      authority_(authority),
      store_(store),
      clock_(std::move(clock)),
      ocsp_(authority, store, ocsp_settings(config)) {
  auto files = ensure_ocsp_responder(config_.data_dir, authority_, clock_());
  if (files.created) {
    spdlog::info("OCSP responder certificate {} issued ({})",
                 files.identity.certificate.serial_hex(),
                 (config_.data_dir / kOcspCertificateFile).string());
  }
  responder_ = std::make_shared<const ca::ResponderIdentity>(std::move(files.identity));
  publish_crl();
}

RevocationService::~RevocationService() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool RevocationService::serves(std::string_view target) {
  const auto path = http::path_of(target);
  return path == kCrlPath || path == kPreviousCrlPath || path == kOcspPath ||
         path.starts_with("/ocsp/");
}

http::Response RevocationService::handle(const http::Request& request) const {
  try {
    const auto path = http::path_of(request.target);
    if (path == kCrlPath) {
      if (request.method != "GET") {
        return method_not_allowed("/crl", "GET");
      }
      return crl_response();
    }
    if (path == kPreviousCrlPath) {
      if (request.method != "GET") {
        return method_not_allowed("/crl/previous", "GET");
      }
      return previous_crl_response();
    }
    if (request.method != "GET" && request.method != "POST") {
      return method_not_allowed("/ocsp", "GET, POST");
    }
    return ocsp_response(request);
  } catch (const registry::StoreUnavailable& e) {
    // The store's reason names the database server and its user: the log's, not the client's.
    spdlog::error("revocation request {} {}: the registry is unavailable: {}", request.method,
                  common::printable(request.target), common::printable(e.what()));
    auto response = est::error_response(503, "the registry is unavailable");
    response.headers.emplace_back("Retry-After", "10");
    return response;
  } catch (const std::exception& e) {
    spdlog::error("revocation request {} {} failed: {}", request.method,
                  common::printable(request.target), e.what());
    return est::error_response(500, "the server failed to process the request");
  }
}

http::Response RevocationService::crl_response() const {
  const auto der = current_crl();
  if (!der) {
    return est::error_response(503, "no CRL has been published yet; try again shortly");
  }
  return http::Response{200, {{"Content-Type", std::string(kPkixCrl)}}, *der};
}

std::shared_ptr<const std::string> RevocationService::current_crl() const {
  // One integer read per request, on the reader: the admin CLI revoking, or another server on the
  // same registry, may have published a newer CRL a moment ago, and a relying party that asks
  // right after must see it. The CRL itself is read only when that number grew.
  const auto number = store_.published_crl_number();
  {
    const std::lock_guard lock(mutex_);
    if (crl_der_ && number <= crl_number_) {
      return crl_der_;
    }
  }
  if (const auto published = store_.published_crl()) {
    keep_crl(*published);
  }
  const std::lock_guard lock(mutex_);
  return crl_der_;
}

void RevocationService::keep_crl(const registry::PublishedCrl& crl) const {
  auto der = std::make_shared<const std::string>(crypto::Crl::from_pem(crl.pem).to_der());
  const std::lock_guard lock(mutex_);
  // Numbers only grow: a slower reader never replaces a newer CRL with an older one.
  if (crl.number > crl_number_) {
    crl_number_ = crl.number;
    crl_der_ = std::move(der);
  }
}

http::Response RevocationService::previous_crl_response() const {
  // Written by whichever process issued the CRLs last (write_crl_files), atomically.
  const auto file = config_.data_dir / kPreviousCrlDerFile;
  if (!authority_.in_transition(clock_()) || !std::filesystem::exists(file)) {
    return est::error_response(
        404, "there is no previous CA: no CA rollover is in its transition period");
  }
  return http::Response{200, {{"Content-Type", std::string(kPkixCrl)}}, common::read_file(file)};
}

http::Response RevocationService::ocsp_response(const http::Request& request) const {
  std::optional<std::string> der;
  if (request.method == "POST") {
    const auto type = request.header("Content-Type");
    if (!type || est::media_type_of(*type) != kOcspRequest) {
      return est::error_response(
          415, "an OCSP request is sent as " + std::string(kOcspRequest) + ", not " +
                   (type ? est::media_type_of(*type) : std::string("without a Content-Type")));
    }
    der = request.body;
  } else {
    const auto path = http::path_of(request.target);
    der = path.size() > kOcspPath.size() + 1
              ? decode_ocsp_get_path(path.substr(kOcspPath.size() + 1))
              : std::nullopt;
  }
  if (!der) {
    return ocsp_body(crypto::ocsp_error_response(crypto::OcspResponseStatus::malformed_request));
  }
  return ocsp_body(ocsp_.respond(*der, *responder(), clock_()));
}

std::shared_ptr<const ca::ResponderIdentity> RevocationService::responder() const {
  const std::lock_guard lock(mutex_);
  return responder_;
}

void RevocationService::revocation_changed() {
  {
    const std::lock_guard lock(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
}

void RevocationService::publish_crl() {
  const auto now = clock_();
  const auto issued = refresh_crl(config_, authority_, store_, now);
  keep_crl(issued.published);
  spdlog::info("CRL {} issued ({} revoked), next update {}s", issued.number, issued.entries,
               config_.revocation.crl_validity.count());
  auto next = now + config_.revocation.crl_validity / 2;
  if (issued.next_grace_end) {
    next = std::min(next, *issued.next_grace_end);
  }
  const std::lock_guard lock(mutex_);
  next_crl_ = next;
  last_published_ = now;
}

void RevocationService::start() {
  thread_ = std::thread([this] { run(); });
}

void RevocationService::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = clock_();
    auto due = next_crl_;
    if (changed_) {
      due = std::min(due, last_published_ + kMinimumCrlInterval);
    }
    const auto renew_responder = responder_renewal_time(*responder_);
    if (now < due && now < renew_responder) {
      const auto wait = std::min({due - now, renew_responder - now,
                                  std::chrono::duration_cast<crypto::TimePoint::duration>(
                                      std::chrono::seconds(kLongestSleep))});
      wake_.wait_for(lock, wait, [this] { return stopping_ || changed_; });
      // Re-evaluated from the top: a change may still have to wait for the minimum interval.
      if (!stopping_ && changed_ && clock_() < last_published_ + kMinimumCrlInterval) {
        wake_.wait_for(lock, last_published_ + kMinimumCrlInterval - clock_(),
                       [this] { return stopping_; });
      }
      continue;
    }
    lock.unlock();
    bool failed = false;
    try {
      if (now >= renew_responder) {
        auto files = ensure_ocsp_responder(config_.data_dir, authority_, now);
        spdlog::info("OCSP responder certificate {} issued",
                     files.identity.certificate.serial_hex());
        auto identity = std::make_shared<const ca::ResponderIdentity>(std::move(files.identity));
        const std::lock_guard swap(mutex_);
        responder_ = std::move(identity);
      }
      if (now >= due) {
        {
          const std::lock_guard clear(mutex_);
          changed_ = false;
        }
        publish_crl();
      }
    } catch (const std::exception& e) {
      spdlog::error("the revocation schedule failed, retrying in {}s: {}",
                    kRetryAfterFailure.count(), e.what());
      failed = true;
    }
    lock.lock();
    if (failed) {
      wake_.wait_for(lock, kRetryAfterFailure, [this] { return stopping_; });
    }
  }
}

}  // namespace estfleet::server
