// Reading a CsrAttrs answer (RFC 7030 §4.5.2, RFC 9908) for display on the device side.
#pragma once

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

// The display name of a DER-encoded OBJECT IDENTIFIER (tag and length included).
std::string oid_display_name(std::string_view oid_der);

}  // namespace estfleet::client
