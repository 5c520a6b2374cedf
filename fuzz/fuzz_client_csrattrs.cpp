// What est-client reads from a server's csrattrs answer (RFC 7030 §4.5, RFC 9908 template): the
// DER CsrAttrs, described for `est-client csrattrs` and read as the key type and fixed subject
// that enroll/provision follow. Refusals are ClientError; anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client/csr_attributes.hpp"
#include "client/errors.hpp"

using namespace estfleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view der(reinterpret_cast<const char*>(data), size);
  try {
    (void)client::describe_csr_attributes(der);
  } catch (const client::ClientError&) {
  }
  try {
    (void)client::read_csr_template(der);
  } catch (const client::ClientError&) {
  }
  try {
    (void)client::oid_display_name(der);
  } catch (const client::ClientError&) {
  }
  return 0;
}
