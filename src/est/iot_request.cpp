#include "est/iot_request.hpp"

#include <nlohmann/json.hpp>

#include "est/refusal.hpp"
#include "policy/policy_error.hpp"
#include "policy/strict_json.hpp"
#include "policy/text.hpp"

namespace estfleet::est {
namespace {

// Bounds what one device can write into the registry.
constexpr std::size_t kMaxAttributeValue = 256;

// A key as a JSON string literal, escaped, for messages that must not carry what it holds raw.
std::string quoted(const std::string& key) {
  return nlohmann::json(key).dump(-1, ' ', true);
}

// Refuses JSON text over kMaxIotJsonBytes before any parser spends time or memory on it.
void check_json_size(std::string_view what, std::size_t size) {
  if (size > kMaxIotJsonBytes) {
    throw Refusal(400, std::string(what) + " in the CSR are " + std::to_string(size) +
                           " bytes of JSON, more than the " + std::to_string(kMaxIotJsonBytes) +
                           " accepted");
  }
}

std::map<std::string, std::string> parse_attributes(
    const std::string& value_der, const std::set<std::string, std::less<>>& allowed) {
  const auto text = crypto::parse_der_utf8_string(value_der);
  if (!text) {
    throw Refusal(400, std::string("the device attributes extension (") + kDeviceAttributesOid +
                           ") is not a DER UTF8String");
  }
  check_json_size("the device attributes", text->size());
  nlohmann::ordered_json json;
  try {
    // The strict reader of the IoT details: a key written twice is refused, not resolved.
    json = policy::parse_strict_json(*text);
  } catch (const policy::PolicyError& e) {
    throw Refusal(
        400, "the device attributes in the CSR are invalid at " + e.path() + ": " + e.message());
  }
  if (!json.is_object()) {
    throw Refusal(400, "the device attributes in the CSR are not a JSON object");
  }
  std::map<std::string, std::string> attributes;
  for (const auto& [key, value] : json.items()) {
    if (policy::has_control_character(key)) {
      throw Refusal(400, "the device attribute key " + quoted(key) + " holds a control character");
    }
    if (!allowed.contains(key)) {
      throw Refusal(400, "the device attribute '" + key +
                             "' is not one this profile accepts (allowed_attributes)");
    }
    if (!value.is_string()) {
      throw Refusal(400, "the device attribute '" + key + "' must be a string");
    }
    auto text_value = value.get<std::string>();
    if (text_value.size() > kMaxAttributeValue) {
      throw Refusal(400, "the device attribute '" + key + "' is longer than " +
                             std::to_string(kMaxAttributeValue) + " bytes");
    }
    if (policy::has_control_character(text_value)) {
      throw Refusal(400, "the device attribute '" + key + "' holds a control character");
    }
    attributes.emplace(key, std::move(text_value));
  }
  return attributes;
}

policy::IotDetails parse_details(const std::string& json_text) {
  try {
    return policy::parse_iot_details_text(json_text);
  } catch (const policy::PolicyError& e) {
    throw Refusal(400,
                  "the IoT details in the CSR are invalid at " + e.path() + ": " + e.message());
  }
}

}  // namespace

IotRequest read_iot_request(const crypto::CertificateRequest& csr,
                            const std::set<std::string, std::less<>>& allowed_attributes) {
  std::optional<std::string> details_json;
  std::optional<std::string> attributes_der;
  for (const auto& extension : csr.requested_extensions()) {
    const bool current = extension.oid == policy::kIotDetailsOid;
    if (current || extension.oid == policy::kLegacyIotDetailsOid) {
      if (details_json) {
        throw Refusal(400, "the CSR carries IoT details more than once (both OIDs, or one twice)");
      }
      if (!current) {
        details_json = extension.value_der;  // the legacy form: raw JSON bytes
        continue;
      }
      details_json = crypto::parse_der_utf8_string(extension.value_der);
      if (!details_json) {
        throw Refusal(400, std::string("the IoT details extension (") + policy::kIotDetailsOid +
                               ") is not a DER UTF8String");
      }
    } else if (extension.oid == kDeviceAttributesOid) {
      if (attributes_der) {
        throw Refusal(400, "the CSR carries the device attributes more than once");
      }
      attributes_der = extension.value_der;
    }
  }
  IotRequest request;
  if (details_json) {
    check_json_size("the IoT details", details_json->size());
    request.details = parse_details(*details_json);
  }
  if (attributes_der) {
    request.attributes = parse_attributes(*attributes_der, allowed_attributes);
  }
  return request;
}

}  // namespace estfleet::est
