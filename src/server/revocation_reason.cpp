#include "server/revocation_reason.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace estfleet::server {
namespace {

// removeFromCRL (8) is left out: it only undoes certificateHold in a delta CRL, and a
// certificate here never comes back once revoked.
constexpr std::array<std::string_view, 9> kReasons{
    "unspecified",        "keyCompromise",      "cACompromise",
    "affiliationChanged", "superseded",         "cessationOfOperation",
    "certificateHold",    "privilegeWithdrawn", "aACompromise"};

}  // namespace

void check_revocation_reason(std::string_view reason) {
  if (std::find(kReasons.begin(), kReasons.end(), reason) != kReasons.end()) {
    return;
  }
  std::string names;
  for (const auto name : kReasons) {
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw std::runtime_error("'" + std::string(reason) +
                           "' is not an RFC 5280 revocation reason; use one of " + names);
}

}  // namespace estfleet::server
