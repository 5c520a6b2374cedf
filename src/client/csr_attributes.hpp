#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estfleet::client {

// One line per entry of a DER CsrAttrs (RFC 7030 §4.5.2): an OID ("challengePassword") or an
// attribute with its values ("ecPublicKey: prime256v1"). Names come from OpenSSL's table; unknown
// OIDs are printed dotted. Throws ClientError if `der` is not a CsrAttrs.
std::vector<std::string> describe_csr_attributes(std::string_view der);

}  // namespace estfleet::client
