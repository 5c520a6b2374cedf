// The enrollment body as a device sends it: base64 (or PEM) of a PKCS#10 CSR, parsed, its
// signature verified, its subject/key/extensions checked for issuance, its IoT details and device
// attributes read, and the details checked against the default policy template. Every refusal must
// be an est::Refusal (a 400/403 with one sentence); anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "est/csr_checks.hpp"
#include "est/iot_request.hpp"
#include "est/refusal.hpp"
#include "policy/policy_template.hpp"

using namespace estfleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static const ca::IssuancePolicy issuance;
  static const policy::PolicyTemplate policy_template = policy::default_template();
  try {
    const auto csr = est::parse_enrollment_csr(body);
    const std::string thing_name = est::check_csr_for_issuance(csr, issuance);
    const auto request = est::read_iot_request(csr, {"Region"});
    if (request.details) {
      (void)policy::check_against_template(*request.details, policy_template);
    }
    (void)thing_name;
  } catch (const est::Refusal&) {
  }
  return 0;
}
