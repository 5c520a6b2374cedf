#include "client/renew.hpp"

#include <algorithm>
#include <map>

#include "client/device_pem.hpp"
#include "client/errors.hpp"
#include "client/trust_update.hpp"
#include "common/files.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;

// How far ahead of `now` a just-renewed certificate may start: the server dates it at its own
// clock's second, which can be after `now` (read before the request) or a little ahead of the
// device's clock. Its chain is then checked at its notBefore; any further ahead it is refused as
// not yet valid.
constexpr std::chrono::minutes kIssuerClockSkew{5};

crypto::TimePoint renewed_check_time(const crypto::Certificate& renewed, crypto::TimePoint now) {
  const auto starts = renewed.not_before();
  return starts > now && starts - now <= kIssuerClockSkew ? starts : now;
}

// The key to request: the one of an unanswered request (held for approval, or issued but its
// answer lost), so the server recognises it and answers with the same certificate; else a fresh
// one of the current type, saved (0600, fsynced with its folder) before it is sent.
// A renewing key the client did not write itself (read_own_secret_file) is refused: it could be
// anyone's, and would be certified as the device's.
crypto::PrivateKey request_key(const RenewTarget& target, const crypto::PrivateKey& current) {
  const auto pending = renewing_key_path(target);
  if (const auto saved = common::read_own_secret_file(pending)) {
    try {
      auto key = crypto::PrivateKey::from_pem(*saved);
      if (key.public_key_der() != current.public_key_der()) {
        return key;
      }
    } catch (const std::exception&) {
      // Unreadable: replaced below.
    }
  }
  auto key = crypto::PrivateKey::generate(same_key_type(current));
  common::write_file_atomically(pending, key.to_pem(), common::kSecretFileMode);
  return key;
}

// The roots of the device's own root_ca.pem.
std::vector<crypto::Certificate> folder_anchors(const fs::path& folder) {
  const auto file = folder / "root_ca.pem";
  try {
    return trust_anchors_from_pem(common::read_file(file));
  } catch (const std::exception& e) {
    throw ClientError("the trust anchor " + file.string() + " is unusable: " + e.what());
  }
}

void install(const RenewTarget& target, const crypto::PrivateKey& key,
             const std::string& certificate_pem) {
  if (target.out_key && target.out_certificate) {
    common::prepare_output(*target.out_key);
    common::prepare_output(*target.out_certificate);
    common::write_file_atomically(*target.out_key, key.to_pem(), common::kSecretFileMode);
    common::write_file_atomically(*target.out_certificate, certificate_pem,
                                  common::kPublicFileMode);
    return;
  }
  install_pair(target.folder, key.to_pem(), certificate_pem, target.names);
}

}  // namespace

std::string expired_reason(const crypto::Certificate& certificate) {
  return "the certificate expired at " + utc_text(certificate.not_after()) +
         " and can no longer authenticate a renewal over mTLS: enroll the device again with its "
         "bootstrap credentials (est-client provision --force); nothing was changed";
}

fs::path renewing_key_path(const RenewTarget& target) {
  return target.folder / (target.names.key + ".renewing");
}

crypto::KeyType same_key_type(const crypto::PrivateKey& key) {
  const auto d = crypto::describe_key(key.get());
  if (d.algorithm == "ED25519") {
    return crypto::KeyType::ed25519;
  }
  if (d.algorithm == "EC" && d.curve == "secp384r1") {
    return crypto::KeyType::ec_p384;
  }
  if (d.algorithm == "RSA") {
    return d.bits >= 4096   ? crypto::KeyType::rsa_4096
           : d.bits >= 3072 ? crypto::KeyType::rsa_3072
                            : crypto::KeyType::rsa_2048;
  }
  return crypto::KeyType::ec_p256;
}

RenewalReport renew_device(const RenewTarget& target, const RenewOptions& options,
                           const Reenroller& reenroll, crypto::TimePoint now) {
  RenewalReport report;
  auto& outcome = report.outcome;
  outcome.thing_name = target.name;
  outcome.result = DeviceResult::failed;
  try {
    std::error_code ec;
    if (!fs::is_directory(target.folder, ec)) {
      throw ClientError(target.folder.string() +
                        " does not exist: enroll the device first (est-client provision)");
    }
    // Before anything in it is read: a folder someone else can write into may hold their files.
    common::check_own_directory(target.folder);
    const auto pair = read_pair(target.folder, target.names);
    if (!pair) {
      throw ClientError("no " + target.names.certificate + " and " + target.names.key + " in " +
                        target.folder.string() +
                        ": enroll the device first (est-client provision)");
    }
    auto chain = crypto::Certificate::chain_from_pem(pair->certificate_pem);
    const auto current_key = crypto::PrivateKey::from_pem(pair->key_pem);
    const auto current = chain.front();
    chain.erase(chain.begin());
    outcome.serial = current.serial_hex();
    outcome.expires = current.not_after();
    report.not_after = current.not_after();
    if (!current.matches_private_key(current_key.get())) {
      throw ClientError(target.names.certificate + " does not match " + target.names.key);
    }
    if (target.thing_name && current.subject_common_name() != *target.thing_name) {
      throw ClientError(target.names.certificate + " is for CN '" + current.subject_common_name() +
                        "', not for the ThingName " + *target.thing_name);
    }
    if (current.not_after() <= now) {
      report.expired = true;
      outcome.reason = expired_reason(current);
      return report;
    }
    const auto timing = renewal_time(
        options.threshold,
        issued_at(current.not_before(), current.not_after(), pair->certificate_written, now),
        current.not_after());
    report.misconfiguration = timing.misconfiguration;
    if (!options.ignore_threshold && timing.due > now) {
      outcome.result = DeviceResult::skipped;
      outcome.reason =
          "not due until " + utc_text(timing.due) +
          (timing.misconfiguration ? " (the renewal floor: " + *timing.misconfiguration + ")"
                                   : " (threshold " + options.threshold.text() + ")");
      report.next_due = timing.due;
      return report;
    }

    const auto anchors =
        !target.trust_anchors.empty() ? target.trust_anchors : folder_anchors(target.folder);
    const crypto::TrustStore trust(anchors);
    if (const auto problem = trust.verify(current, chain, now)) {
      throw ClientError("the installed certificate does not chain to the trust anchor: " +
                        *problem);
    }
    // Only now is anything written: the lock, then (unless --keep-key) the new key.
    const auto lock = FolderLock::try_lock(target.folder);
    if (!lock) {
      throw ClientError("another est-client renew is renewing this device right now");
    }
    if (const auto again = read_pair(target.folder, target.names);
        !again || again->certificate_pem != pair->certificate_pem) {
      outcome.result = DeviceResult::skipped;
      outcome.reason = "another est-client renew replaced the certificate meanwhile";
      return report;
    }
    std::optional<crypto::PrivateKey> fresh;
    if (!options.keep_key) {
      fresh.emplace(request_key(target, current_key));
    }
    const crypto::PrivateKey& new_key = fresh ? *fresh : current_key;
    const auto issued =
        reenroll(current, current_key, new_key,
                 ReenrollRequest{pair->certificate_pem, options.pop, target.extensions},
                 crypto::pem_bundle(anchors));
    const auto& renewed = issued.certificate;
    if (renewed.subject_der() != current.subject_der()) {
      throw ClientError("the server issued a certificate for '" + renewed.subject_text() +
                        "', not for the subject being renewed");
    }
    if (!renewed.matches_private_key(new_key.get())) {
      throw ClientError("the renewed certificate does not match the key it was requested for");
    }
    const auto check_at = renewed_check_time(renewed, now);
    if (const auto problem = trust.verify(renewed, issued.ca_certificates, check_at)) {
      throw ClientError("the renewed certificate does not chain to the trust anchor: " + *problem);
    }
    // After a CA rollover (RFC 7030 §4.1.3) the device learns the new root, but only through a
    // NewWithOld link that verifies under a root it already trusts; it keeps the old one too.
    std::string learned_note;
    const auto anchor_file = target.folder / "root_ca.pem";
    if (target.trust_anchors.empty() || fs::exists(anchor_file, ec)) {
      std::vector<crypto::Certificate> roots;
      for (const auto& learned : authenticated_new_roots(anchors, issued.ca_certificates, now)) {
        // Only the root the renewed certificate chains to.
        if (!crypto::TrustStore({learned.root}).verify(renewed, issued.ca_certificates, check_at)) {
          roots.push_back(learned.root);
        }
      }
      for (const auto& root : add_trust_anchors(anchor_file, roots)) {
        learned_note += "; trusts the new root CA " + root.subject_text() +
                        " too (authenticated by its NewWithOld link)";
      }
    }
    install(target, new_key, certificate_chain_pem(issued));
    const auto received =
        written_at(target.out_certificate ? *target.out_certificate
                                          : target.folder / target.names.certificate)
            .value_or(now);
    fs::remove(renewing_key_path(target), ec);  // the pending key is installed now
    outcome.result = DeviceResult::renewed;
    outcome.reason = "replaced serial " + current.serial_hex() +
                     (options.keep_key ? " (same key)" : " (new key)") + learned_note;
    outcome.serial = renewed.serial_hex();
    outcome.expires = renewed.not_after();
    report.not_after = renewed.not_after();
    const auto next = renewal_time(
        options.threshold, issued_at(renewed.not_before(), renewed.not_after(), received, received),
        renewed.not_after());
    report.next_due = next.due;
    report.misconfiguration = next.misconfiguration;
  } catch (const StillPending& e) {
    outcome.result = DeviceResult::pending;
    outcome.reason = "the server holds the renewal for approval (Retry-After " +
                     std::to_string(e.retry_after().count()) + " s); the new key is kept in " +
                     renewing_key_path(target).filename().string();
    report.retry_after = e.retry_after();
  } catch (const std::exception& e) {
    outcome.result = DeviceResult::failed;
    outcome.reason = e.what();
  }
  return report;
}

void watch(const std::vector<RenewTarget>& targets, const RenewOptions& options,
           const WatchOptions& watch_options, const Reenroller& reenroll, const WatchHooks& hooks,
           std::mt19937_64& random) {
  struct State {
    crypto::TimePoint next_try;
    Backoff backoff;
    std::optional<crypto::TimePoint> logged_next;  // what the last "waiting" line said
    bool told_misconfigured = false;
  };
  std::vector<State> states;
  const auto start = hooks.now();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    states.push_back({start, Backoff(watch_options.retry_min, watch_options.retry_max), {}});
  }
  const auto log = [&](const std::string& device, std::string_view action, crypto::TimePoint next,
                       const std::string& reason) {
    hooks.log(utc_text(hooks.now()) + " " + device + " " + std::string(action) +
              " next=" + utc_text(next) + (reason.empty() ? "" : " " + reason));
  };
  const auto later = [](crypto::TimePoint now, std::chrono::milliseconds delay) {
    return now + std::chrono::duration_cast<crypto::TimePoint::duration>(delay);
  };

  while (true) {
    auto earliest = crypto::TimePoint::max();
    for (std::size_t i = 0; i < targets.size(); ++i) {
      auto& state = states[i];
      const auto now = hooks.now();
      if (state.next_try > now) {
        earliest = std::min(earliest, state.next_try);
        continue;
      }
      const auto report = renew_device(targets[i], options, reenroll, now);
      const auto& outcome = report.outcome;
      const auto after = hooks.now();
      switch (outcome.result) {
        case DeviceResult::renewed:
          if (report.misconfiguration) {
            // Due (nearly) as it arrived: renewing at the floor alone could still be a storm.
            const auto delay = before_expiry(state.backoff.next(random), after, *report.not_after);
            state.next_try = std::max(*report.next_due, later(after, delay));
          } else {
            state.backoff.reset();
            state.next_try = *report.next_due;
          }
          log(targets[i].name, "renewed", state.next_try,
              "serial=" + outcome.serial + " expires=" + utc_text(*outcome.expires) + " " +
                  outcome.reason);
          state.logged_next = state.next_try;
          break;
        case DeviceResult::skipped:
          if (!report.misconfiguration) {
            state.backoff.reset();
          }
          state.next_try = *report.next_due;
          if (state.logged_next != state.next_try) {
            log(targets[i].name, "waiting", state.next_try,
                "serial=" + outcome.serial + " expires=" + utc_text(*outcome.expires) +
                    " due for renewal then");
            state.logged_next = state.next_try;
          }
          break;
        case DeviceResult::pending: {
          // Bounded whatever the reenroller did with it: this loop must neither spin nor sleep
          // past the expiry on one server's word.
          state.next_try = later(after, pending_wait(*report.retry_after, after, report.not_after));
          log(targets[i].name, "pending", state.next_try, outcome.reason);
          state.logged_next.reset();
          break;
        }
        case DeviceResult::failed:
        case DeviceResult::enrolled:
          if (report.expired) {
            state.next_try = later(after, watch_options.retry_max);
            log(targets[i].name, "expired", state.next_try, outcome.reason);
          } else {
            auto delay = state.backoff.next(random);
            if (report.not_after) {
              delay = before_expiry(delay, after, *report.not_after);
            }
            state.next_try = later(after, delay);
            log(targets[i].name, "retry", state.next_try,
                "attempt " + std::to_string(state.backoff.failures()) +
                    " failed: " + outcome.reason);
          }
          state.logged_next.reset();
          break;
      }
      if (report.misconfiguration && !state.told_misconfigured) {
        log(targets[i].name, "misconfigured", state.next_try, *report.misconfiguration);
        state.told_misconfigured = true;
      }
      earliest = std::min(earliest, state.next_try);
    }
    if (earliest == crypto::TimePoint::max()) {
      earliest = later(hooks.now(), watch_options.retry_max);
    }
    if (!hooks.sleep_until(earliest)) {
      return;
    }
  }
}

}  // namespace estfleet::client
