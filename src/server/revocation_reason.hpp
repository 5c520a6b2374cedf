// RFC 5280 §5.3.1 CRLReason names, as operators type them and the registry stores them.
#pragma once

#include <string>
#include <string_view>

namespace estfleet::server {

// Throws std::runtime_error listing the names when `reason` is not one of them (exact case).
void check_revocation_reason(std::string_view reason);

}  // namespace estfleet::server
