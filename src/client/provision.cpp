#include "client/provision.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "client/device_pem.hpp"
#include "client/errors.hpp"
#include "client/pending_key.hpp"
#include "client/trust_update.hpp"
#include "common/files.hpp"
#include "crypto/fleet_password.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;

// What the device's files must hold before they are written, whatever the enroller checked:
// the certificate is for this ThingName and this key, and chains to the anchors the device is
// given (through the CAs the server sent), so a device never ends up with a pair it cannot use.
void check_before_install(const Issued& issued, const crypto::PrivateKey& key,
                          const std::string& thing,
                          const std::vector<crypto::Certificate>& anchors) {
  if (issued.certificate.subject_common_name() != thing) {
    throw ClientError("the server issued a certificate for CN '" +
                      issued.certificate.subject_common_name() + "', not for the ThingName");
  }
  if (!issued.certificate.matches_private_key(key.get())) {
    throw ClientError(
        "the issued certificate does not match the private key it was requested for; nothing "
        "was installed");
  }
  if (const auto problem =
          crypto::TrustStore(anchors).verify(issued.certificate, issued.ca_certificates)) {
    throw ClientError("the issued certificate does not chain to the trust anchor (" + *problem +
                      "); nothing was installed");
  }
}

DeviceOutcome provision_device(const DeviceConfig& device, const FleetConfig& config,
                               const ProvisionOptions& options, const Enroller& enroll) {
  const auto& thing = device.iot_details.thing_name;
  DeviceOutcome outcome{thing, DeviceResult::failed, {}, {}, {}};
  const auto files = device_files(options.out, thing);
  try {
    // Before anything in it is read: a folder someone else can write into may hold their files.
    common::make_own_directory(files.private_key.parent_path());
  } catch (const std::exception& e) {
    outcome.reason = e.what();
    return outcome;
  }
  std::string replaced;
  if (!options.force) {
    const auto installed =
        check_installed(files, thing, options.trust_anchors, std::chrono::system_clock::now());
    if (installed.valid) {
      return {thing, DeviceResult::skipped, installed.valid->serial_hex(),
              installed.valid->not_after(), "a valid certificate is installed"};
    }
    replaced = installed.problem;
  }
  try {
    // Before the request: an issued certificate must never lack a place to be saved.
    for (const auto& path :
         {files.private_key, files.certificate, files.root_ca, files.pending_key}) {
      common::prepare_output(path);
    }
    // The key a pending (or unanswered) request was made with, unless --force asks for a fresh
    // start.
    const auto type = options.required_key_type.value_or(device.key_type);
    auto [key, note] = request_key(
        files.pending_key, [type] { return crypto::PrivateKey::generate(type); }, options.force);
    EnrollRequest request{
        thing, BasicCredentials{thing, crypto::derive_fleet_password(options.fleet_secret, thing)},
        options.pop, device_extensions(device.iot_details, config.region)};
    request.subject_der = subject_with_template(thing, options.fixed_subject);
    const auto issued = enroll(key, request);
    check_before_install(issued, key, thing, options.trust_anchors);
    common::write_file_atomically(files.private_key, key.to_pem(), common::kSecretFileMode);
    common::write_file_atomically(files.certificate, certificate_chain_pem(issued),
                                  common::kPublicFileMode);
    // Roots only: an issuing CA in root_ca.pem would let its key vouch for a root of its own
    // at the next rollover (trust_update.hpp).
    common::write_file_atomically(files.root_ca,
                                  crypto::pem_bundle(self_signed_roots(options.trust_anchors)),
                                  common::kPublicFileMode);
    // The device is enrolled whether or not the leftover goes; the next request overwrites it.
    std::error_code ignored;
    fs::remove(files.pending_key, ignored);
    outcome.result = DeviceResult::enrolled;
    outcome.serial = issued.certificate.serial_hex();
    outcome.expires = issued.certificate.not_after();
    outcome.reason = !replaced.empty() ? "replaced: " + replaced : note;
  } catch (const StillPending& e) {
    outcome.result = DeviceResult::pending;
    outcome.reason = "awaiting approval (Retry-After " + std::to_string(e.retry_after().count()) +
                     " s); run again to collect it, the key is kept in " +
                     files.pending_key.filename().string();
  } catch (const ServerRefused& e) {
    outcome.reason = e.what();
    if (e.status() == 409) {
      outcome.reason +=
          "; the thing already holds an active certificate: renew it with "
          "est-client renew (or reenroll) instead of enrolling again";
    }
  } catch (const std::exception& e) {
    outcome.reason = e.what();
  }
  return outcome;
}

}  // namespace

std::vector<crypto::CertificateRequest::Extension> device_extensions(
    const policy::IotDetails& details, const std::string& region) {
  std::vector<crypto::CertificateRequest::Extension> extensions{
      {policy::kIotDetailsOid, false, crypto::der_utf8_string(policy::to_json_text(details))}};
  if (!region.empty()) {
    const nlohmann::json attributes{{"Region", region}};
    extensions.push_back({kDeviceAttributesOid, false, crypto::der_utf8_string(attributes.dump())});
  }
  return extensions;
}

DeviceFiles device_files(const fs::path& out, const std::string& thing_name) {
  const auto folder = out / thing_name;
  return {folder / "private_key.pem", folder / "certificate.pem", folder / "root_ca.pem",
          folder / "private_key.pem.pending"};
}

InstalledState check_installed(const DeviceFiles& files, const std::string& thing_name,
                               const std::vector<crypto::Certificate>& trust_anchors,
                               crypto::TimePoint now) {
  if (!fs::exists(files.certificate) && !fs::exists(files.private_key)) {
    return {};
  }
  try {
    auto chain = crypto::Certificate::chain_from_pem(common::read_file(files.certificate));
    const auto key = crypto::PrivateKey::from_pem(common::read_file(files.private_key));
    const auto certificate = chain.front();
    chain.erase(chain.begin());
    if (!certificate.matches_private_key(key.get())) {
      return {std::nullopt, "certificate.pem does not match private_key.pem"};
    }
    if (certificate.subject_common_name() != thing_name) {
      return {std::nullopt,
              "certificate.pem is for CN '" + certificate.subject_common_name() + "'"};
    }
    if (const auto problem = crypto::TrustStore(trust_anchors).verify(certificate, chain, now)) {
      return {std::nullopt, "certificate.pem does not verify: " + *problem};
    }
    return {certificate, {}};
  } catch (const std::exception& e) {
    return {std::nullopt, e.what()};
  }
}

std::vector<DeviceOutcome> provision(const FleetConfig& config, const ProvisionOptions& options,
                                     const Enroller& enroll) {
  std::vector<DeviceOutcome> outcomes;
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    if (options.on_start) {
      options.on_start(i, config.devices.size(), config.devices[i].iot_details.thing_name);
    }
    outcomes.push_back(provision_device(config.devices[i], config, options, enroll));
    if (options.on_done) {
      options.on_done(outcomes.back());
    }
  }
  return outcomes;
}

int provision_exit_code(const std::vector<DeviceOutcome>& outcomes) {
  const auto any = [&](DeviceResult result) {
    return std::any_of(outcomes.begin(), outcomes.end(),
                       [&](const DeviceOutcome& o) { return o.result == result; });
  };
  if (any(DeviceResult::failed)) {
    return 1;
  }
  return any(DeviceResult::pending) ? 3 : 0;
}

}  // namespace estfleet::client
