// Reading a CsrAttrs answer (RFC 7030 §4.5.2, RFC 9908) for display on the device side.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/key.hpp"

namespace estfleet::client {

// One line per entry of a DER CsrAttrs (SEQUENCE OF AttrOrOID): an OID ("challengePassword") or
// an attribute with its values ("ecPublicKey: secp256r1 (prime256v1)"). OID values are named,
// INTEGERs printed in decimal, an extensionRequest's extensions listed by OID. Well-known OIDs
// get their usual names, other names come from OpenSSL's table, unknown OIDs are printed dotted.
// Empty input (a 204) gives no lines. Throws ClientError if `der` is not a DER CsrAttrs.
std::vector<std::string> describe_csr_attributes(std::string_view der);

// What a client follows in a CsrAttrs: the key type (the RFC 9908 §3.4 template's subjectPKInfo,
// else the §3.2 ecPublicKey/rsaEncryption attribute or the Ed25519 OID; nullopt when none names a
// type this client makes) and the subject attributes the template fixes, as (dotted OID, value)
// in order (the CN, which the client fills in, is not among them). Throws ClientError if `der` is
// not a DER CsrAttrs or its template is malformed; an empty `der` asks for nothing.
struct CsrTemplate {
  std::optional<crypto::KeyType> key_type;
  std::vector<std::pair<std::string, std::string>> fixed_subject;
};
CsrTemplate read_csr_template(std::string_view der);

// csrattrs are advice to the client (RFC 7030 §4.5), and deployed servers answer them badly
// (404, 501, a trailing NUL), so they must not stop an enrollment: the template read from what
// `fetch` returns (EstClient::csrattrs), or, when the server has none (204 or an empty body),
// refuses, cannot be reached, or answers something unreadable, an empty template once `warn` has
// been told in one line what was wrong. With `required` (--require-csrattrs) that line is thrown
// as a ClientError instead.
CsrTemplate advised_csr_template(const std::function<std::string()>& fetch, bool required,
                                 const std::function<void(const std::string&)>& warn);

// The display name of a DER-encoded OBJECT IDENTIFIER (tag and length included).
std::string oid_display_name(std::string_view oid_der);

}  // namespace estfleet::client
