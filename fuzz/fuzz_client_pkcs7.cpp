// What est-client reads from a server's cacerts/simpleenroll/simplereenroll answer: the status, the
// Retry-After of a 202, the media type, and the base64 certs-only PKCS#7 body. The first input byte
// picks the status and Content-Type variant; the rest is the body, also parsed as raw DER. Refusals
// are ClientError (or CryptoError from the DER reader); anything else escaping is a bug.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/errors.hpp"
#include "client/responses.hpp"
#include "crypto/error.hpp"
#include "crypto/pkcs7.hpp"

using namespace estfleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr int kStatuses[] = {200, 202, 204, 400, 401, 403, 500, 503};
  static constexpr const char* kTypes[] = {"application/pkcs7-mime; smime-type=certs-only",
                                           "application/pkcs7-mime", "application/PKCS7-MIME ;x=y",
                                           "text/plain"};
  const unsigned selector = data[0];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  http::Response response;
  response.status = kStatuses[selector % 8];
  response.headers = {{"Content-Type", kTypes[(selector / 8) % 4]}};
  if ((selector & 0x20) != 0) {
    response.headers.emplace_back("Retry-After", body.substr(0, 64));
  }
  response.body = body;
  try {
    (void)client::check_status(response, "simpleenroll");
    for (const auto& cert : client::decode_certificates(response, "simpleenroll")) {
      (void)cert.subject_common_name();
      (void)cert.serial_hex();
    }
  } catch (const client::ClientError&) {
  }
  (void)client::parse_retry_after(body.substr(0, 64), std::chrono::system_clock::time_point{});
  try {
    (void)crypto::parse_pkcs7_certs_only(body);
  } catch (const crypto::CryptoError&) {
  }
  return 0;
}
