// Where each EST operation lives on the server (RFC 7030 §3.2.2).
#pragma once

#include <string>
#include <string_view>

namespace estfleet::client {

// <prefix>/.well-known/est[/<label>]/<operation>; `prefix` is the server URL's path (may be
// empty), `label` names an enrollment profile (empty for the default one).
std::string est_path(const std::string& prefix, const std::string& label,
                     std::string_view operation);

}  // namespace estfleet::client
