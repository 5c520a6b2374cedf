// A device's requested IoT details: the `IoTDetails` object of client_config.json, carried signed
// inside its CSR. Parsing is strict: unknown keys, unknown actions and values of the wrong type
// are errors naming their JSON path, never ignored.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/action.hpp"

namespace estfleet::policy {

// The CSR extension (requested in extensionRequest, non-critical) that carries the IoTDetails
// JSON: under kIotDetailsOid as a DER UTF8String; under the legacy OID as the raw JSON bytes.
inline constexpr const char* kIotDetailsOid = "2.25.231872403115171669323704536858287047134";
inline constexpr const char* kLegacyIotDetailsOid = "0.5.100.101.105.116.115";

struct TopicEntry {
  std::string key;       // the entry's name in Topics.<Action>, e.g. "Name1"
  std::string resource;  // normalised: always carries its prefix ("topic/...", "topicfilter/...")
  bool operator==(const TopicEntry&) const = default;
};

struct IotDetails {
  std::string thing_name;
  // true: Allow, false: Deny, nullopt (JSON null or absent): no statement for that action. The
  // parser and default_details() give every action an entry, so equal requests compare equal.
  std::map<Action, std::optional<bool>> policies;
  // The actions Topics names, each with its entries in the JSON's key order.
  std::map<Action, std::vector<TopicEntry>> topics;
  bool operator==(const IotDetails&) const = default;
};

// Parses one IoTDetails object. `path` is the JSON path of `json` in its document, used to name
// the offending entry in a PolicyError. Checks the ThingName rule, the action names, the value
// types, that an Allow or Deny lists at least one resource, and the resource syntax.
// Takes an ordered_json so that Topics keep their written order; a nlohmann::json converts
// implicitly, but it has already sorted its keys.
IotDetails parse_iot_details(const nlohmann::ordered_json& json, const std::string& path = "$");
// The same from JSON text, Topics in written order; PolicyError("$", ...) when the text is not
// JSON, PolicyError at its path for a key written twice in one object.
IotDetails parse_iot_details_text(std::string_view text);

// The client_config.json shape, with normalised resources. nlohmann::json sorts object keys, so
// parse_iot_details(to_json(d)) == d holds when each action's Topics keys are in sorted order;
// parse_iot_details_text(to_json_text(d)) == d holds for any order.
nlohmann::json to_json(const IotDetails& details);
std::string to_json_text(const IotDetails& details);  // compact, keys in IotDetails order

// Adds the resource prefix the action needs when the value has none, and reads "topic/" under
// Subscribe as "topicfilter/" (older clients write it so). Throws PolicyError(path, ...) for a
// value with another action's prefix, an empty value, or control characters.
std::string normalise_resource(Action action, std::string_view value, const std::string& path);

}  // namespace estfleet::policy
