// `est-client provision`: enrolls every device of a client_config.json, each under its own
// ThingName and fleet-derived password, and writes each device's files. One device's failure
// does not stop the others; a re-run skips what is done and collects what was pending.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/est_client.hpp"
#include "client/fleet_config.hpp"
#include "client/summary_table.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"

namespace estfleet::client {

// "est-fleet device attributes": a non-critical CSR extension next to the IoT details, value a
// DER UTF8String holding a compact JSON object such as {"Region":"eu-west-1"}. It keeps the
// IoTDetails JSON exactly the client_config shape while the device key still signs the attributes.
inline constexpr const char* kDeviceAttributesOid = "2.25.231872403115171669323704536858287047135";

// The extensions a device's CSR requests: its IoT details (policy::kIotDetailsOid) and, when
// `region` is not empty, its attributes (kDeviceAttributesOid).
std::vector<crypto::CertificateRequest::Extension> device_extensions(
    const policy::IotDetails& details, const std::string& region);

// <out>/<ThingName>/: the files of one device.
struct DeviceFiles {
  std::filesystem::path private_key;  // private_key.pem, 0600
  std::filesystem::path certificate;  // certificate.pem: the device certificate, then its CAs
  std::filesystem::path root_ca;      // root_ca.pem: the trust anchor
  // private_key.pem.pending, 0600: the key of a request the server has not answered yet, kept
  // so that a re-run asks again for the same ThingName and public key.
  std::filesystem::path pending_key;
};
DeviceFiles device_files(const std::filesystem::path& out, const std::string& thing_name);

// Whether a device already holds what provisioning would give it.
struct InstalledState {
  std::optional<crypto::Certificate> valid;  // the certificate, when everything checks out
  std::string problem;  // why not, when some files exist; empty when nothing is installed
};
// Valid means: certificate.pem and private_key.pem readable, matching, CN = `thing_name`, and the
// certificate chains to `trust_anchors` (through the CAs that follow it in certificate.pem) at
// `now`, so also not expired.
InstalledState check_installed(const DeviceFiles& files, const std::string& thing_name,
                               const std::vector<crypto::Certificate>& trust_anchors,
                               crypto::TimePoint now);

// Asks the server for a certificate: EstClient::enroll in the program, a fake CA in tests.
using Enroller = std::function<Issued(const crypto::PrivateKey& key, const EnrollRequest& request)>;

struct ProvisionOptions {
  std::filesystem::path out;
  // Also written as each root_ca.pem, its self-signed roots only.
  std::vector<crypto::Certificate> trust_anchors;
  std::string fleet_secret;
  bool force = false;  // enroll afresh with a new key even if a valid certificate is installed
  bool pop = false;    // CSRs carry the TLS channel binding
  // What the server's csrattrs ask for (read_csr_template): a key type that replaces each
  // device's KeyType, and subject attributes added after the CN.
  std::optional<crypto::KeyType> required_key_type;
  std::vector<std::pair<std::string, std::string>> fixed_subject;
  // Told before each device (index from 0) and after it, for progress display.
  std::function<void(std::size_t index, std::size_t total, const std::string& thing_name)> on_start;
  std::function<void(const DeviceOutcome& outcome)> on_done;
};

// One outcome per device of `config`, in its order.
std::vector<DeviceOutcome> provision(const FleetConfig& config, const ProvisionOptions& options,
                                     const Enroller& enroll);

// 0 when every device is enrolled or skipped, 1 when any failed, else 3 when any is pending.
int provision_exit_code(const std::vector<DeviceOutcome>& outcomes);

}  // namespace estfleet::client
