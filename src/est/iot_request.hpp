// What a device asks for inside its CSR, where its key signs it: the IoT details (policies and
// topics) and the device attributes (e.g. its Region).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "crypto/csr.hpp"
#include "policy/iot_details.hpp"

namespace estfleet::est {

// est-fleet device attributes: a DER UTF8String holding a JSON object of string values.
inline constexpr const char* kDeviceAttributesOid = "2.25.231872403115171669323704536858287047135";

// The most JSON text the IoT details or the device attributes may hold; refused before parsing.
inline constexpr std::size_t kMaxIotJsonBytes = 8192;

struct IotRequest {
  std::optional<policy::IotDetails> details;  // nullopt: the CSR asks for nothing
  std::map<std::string, std::string> attributes;
};

// Reads the IoT details (policy::kIotDetailsOid as a UTF8String, or the legacy OID as raw JSON)
// and the device attributes. Throws Refusal(400) for both details OIDs or one twice, JSON over
// kMaxIotJsonBytes (naming its size), details that are not valid IoTDetails (naming the JSON
// path), and attributes that are not a JSON object of strings, write a key twice, hold a control
// character in a key or value, or a key outside `allowed_attributes`.
IotRequest read_iot_request(const crypto::CertificateRequest& csr,
                            const std::set<std::string, std::less<>>& allowed_attributes);

}  // namespace estfleet::est
