// `est-client renew`: re-enrolls (simplereenroll over mTLS with the current pair) every device
// whose certificate has passed its renewal threshold, checks what comes back, and swaps the new
// pair in atomically (renew_files.hpp). Once, or with --watch for as long as the process runs.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/est_client.hpp"
#include "client/renew_files.hpp"
#include "client/renew_schedule.hpp"
#include "client/summary_table.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::client {

// One device to renew.
struct RenewTarget {
  std::string name;                       // the ThingName, or the certificate's CN (--cert mode)
  std::filesystem::path folder;           // holds the pair (and root_ca.pem)
  PairNames names;                        // the file names of the pair in `folder`
  std::optional<std::string> thing_name;  // when set, the certificate's CN must be it
  // Added to the CSR (the device's IoT details from client_config.json).
  std::vector<crypto::CertificateRequest::Extension> extensions;
  // The trust anchors the new certificate must chain to; empty: <folder>/root_ca.pem.
  std::vector<crypto::Certificate> trust_anchors;
  // --out-key/--out-cert: write the new pair there (each file atomically) and leave the current
  // pair as it is, instead of swapping generations in `folder`.
  std::optional<std::filesystem::path> out_key;
  std::optional<std::filesystem::path> out_certificate;
};

struct RenewOptions {
  RenewalThreshold threshold;
  bool keep_key = false;          // renew the same key instead of a new one
  bool ignore_threshold = false;  // --now: renew even before the threshold
  bool pop = false;               // the CSR carries the TLS channel binding
};

// Asks the server for the renewed certificate: EstClient::reenroll in the program, a fake CA in
// tests. `trust_anchors_pem` is what the server and the new certificate must chain to.
using Reenroller =
    std::function<Issued(const crypto::Certificate& current, const crypto::PrivateKey& current_key,
                         const crypto::PrivateKey& new_key, const ReenrollRequest& request,
                         const std::string& trust_anchors_pem)>;

// What happened to one device, and when it wants attention next.
struct RenewalReport {
  DeviceOutcome outcome;  // renewed, skipped (not due), pending or failed
  // When the certificate in place afterwards is due (renewed or skipped).
  std::optional<crypto::TimePoint> next_due;
  // Its notAfter, when a certificate could be read.
  std::optional<crypto::TimePoint> not_after;
  // pending: the server's Retry-After (as the reenroller reported it; watch bounds it).
  std::optional<std::chrono::seconds> retry_after;
  // The certificate has expired: it can no longer authenticate a renewal; retrying is useless.
  bool expired = false;
  // The certificate in place afterwards is due before its renewal floor (RenewalTime): why.
  std::optional<std::string> misconfiguration;
};

// The one-sentence reason given for an expired certificate.
std::string expired_reason(const crypto::Certificate& certificate);

// The key file kept while a renewal request is unanswered (202, or the answer was lost), so the
// next attempt sends the same public key: <key name>.renewing, mode 0600, written before the
// request is sent.
std::filesystem::path renewing_key_path(const RenewTarget& target);

// Renews one device if it is due (or always with ignore_threshold) at time `now`: due by the
// threshold counted from the certificate's issuance (issued_at, with the time its file was
// written as the time received), and never before its renewal floor. Never throws; nothing on
// disk changes unless a checked new pair is installed.
RenewalReport renew_device(const RenewTarget& target, const RenewOptions& options,
                           const Reenroller& reenroll, crypto::TimePoint now);

// A new key of the same type as `key` (EC curve, RSA size, Ed25519).
crypto::KeyType same_key_type(const crypto::PrivateKey& key);

// What --watch needs from the world, replaceable in tests.
struct WatchHooks {
  std::function<crypto::TimePoint()> now;
  // Sleeps until `until` or a stop request; returns false when asked to stop.
  std::function<bool(crypto::TimePoint until)> sleep_until;
  std::function<void(const std::string& line)> log;
};

struct WatchOptions {
  std::chrono::milliseconds retry_min{std::chrono::seconds(5)};
  std::chrono::milliseconds retry_max{std::chrono::hours(1)};
};

// Runs until hooks.sleep_until returns false: sleeps until the earliest due time, renews what is
// due, retries failures with Backoff (full jitter, never past expiry), honours Retry-After, and
// logs one line per decision: "<time> <device> <action> next=<time> <reason>". An expired or
// missing certificate is looked at again after retry_max, in case it was enrolled again. A
// certificate renewed although due before its renewal floor is a misconfiguration, logged once
// per device ("misconfigured"); its next renewal waits for the floor and for the failure
// backoff, which grows with each such renewal, so that it can never renew in a loop.
void watch(const std::vector<RenewTarget>& targets, const RenewOptions& options,
           const WatchOptions& watch_options, const Reenroller& reenroll, const WatchHooks& hooks,
           std::mt19937_64& random);

}  // namespace estfleet::client
