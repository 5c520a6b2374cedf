#include "crypto/password_hash.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::uint64_t kMaxMemory = 256ull * 1024 * 1024;

std::optional<std::string> derive(std::string_view password, std::string_view salt,
                                  const ScryptParams& params) {
  if (params.log2_n < 1 || params.log2_n > 20 || params.r < 1 || params.r > 32 || params.p < 1 ||
      params.p > 16) {
    return std::nullopt;
  }
  std::string out(kHashBytes, '\0');
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                     std::uint64_t{1} << params.log2_n, params.r, params.p, kMaxMemory,
                     reinterpret_cast<unsigned char*>(out.data()), out.size()) != 1) {
    clear_openssl_errors();
    return std::nullopt;
  }
  return out;
}

// Reads "name=<unsigned>" from the front of `text` followed by `separator` (or the end when it
// is '\0'), so only the exact "ln=N,r=N,p=N" form parses.
bool read_param(std::string_view& text, std::string_view name, char separator, unsigned& value) {
  if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != '=') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) {
    return false;
  }
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  if (separator == '\0') {
    return text.empty();
  }
  if (text.empty() || text.front() != separator) {
    return false;
  }
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::string hash_password(std::string_view password, ScryptParams params) {
  const std::string salt = random_bytes(kSaltBytes);
  const auto hash = derive(password, salt, params);
  if (!hash) {
    throw CryptoError("scrypt failed: the parameters are out of range or memory is short");
  }
  return "$scrypt$ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$" + base64_encode(salt) + "$" + base64_encode(*hash);
}

bool verify_password(std::string_view password, std::string_view encoded) {
  constexpr std::string_view kPrefix = "$scrypt$";
  if (!encoded.starts_with(kPrefix)) {
    return false;
  }
  encoded.remove_prefix(kPrefix.size());
  const auto params_end = encoded.find('$');
  if (params_end == std::string_view::npos) {
    return false;
  }
  std::string_view params_text = encoded.substr(0, params_end);
  ScryptParams params;
  if (!read_param(params_text, "ln", ',', params.log2_n) ||
      !read_param(params_text, "r", ',', params.r) ||
      !read_param(params_text, "p", '\0', params.p)) {
    return false;
  }
  encoded.remove_prefix(params_end + 1);
  const auto salt_end = encoded.find('$');
  if (salt_end == std::string_view::npos) {
    return false;
  }
  const auto salt = base64_decode(encoded.substr(0, salt_end));
  const auto expected = base64_decode(encoded.substr(salt_end + 1));
  if (!salt || !expected || salt->empty() || expected->size() != kHashBytes) {
    return false;
  }
  const auto actual = derive(password, *salt, params);
  return actual && constant_time_equal(*actual, *expected);
}

}  // namespace estfleet::crypto
