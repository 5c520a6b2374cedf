// Byte strings are std::string (DER, raw digests, HTTP bodies) so they move between layers
// without conversion; text encodings of them live here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estfleet::crypto {

// Standard base64 with = padding, broken into lines of `line_length` characters joined by LF
// (0: one line). EST responses use 64.
std::string base64_encode(std::string_view data, std::size_t line_length = 0);

// Tolerant decoder for EST bodies: ignores ASCII whitespace (spaces, tabs, CR, LF) anywhere;
// requires the standard alphabet and correct padding. nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text);

// base64url without padding (RFC 4648 §5), as used for derived fleet passwords.
std::string base64url_encode(std::string_view data);

// The value of one hex digit (either case), or -1 if `c` is not one.
int hex_digit_value(char c);

// Lower-case hex, and its inverse (nullopt on odd length or a non-hex character).
std::string hex_encode(std::string_view data);
std::optional<std::string> hex_decode(std::string_view hex);

// If `text` holds PEM armour ("-----BEGIN <anything>-----" ... "-----END <anything>-----"),
// returns the base64 between the first BEGIN and its END line; otherwise returns `text` as is.
std::string_view strip_pem_armour(std::string_view text);

// Wraps DER in PEM armour with the given label ("CERTIFICATE", "CERTIFICATE REQUEST", ...).
std::string pem_encode(std::string_view der, std::string_view label);

}  // namespace estfleet::crypto
