// Test material made at test time: a fresh CA, device keys and CSRs.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "ca/authority.hpp"
#include "ca/bootstrap.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"

namespace estfleet::testing {

inline ca::Authority make_authority(crypto::TimePoint now = std::chrono::system_clock::now()) {
  auto fresh = ca::create_ca(ca::NewCaOptions{}, now);
  return ca::Authority(std::move(fresh.issuing_key), {fresh.issuing, fresh.root});
}

inline crypto::CertificateRequest make_csr(const std::string& cn, const crypto::PrivateKey& key) {
  crypto::CsrSpec spec;
  spec.common_name = cn;
  return crypto::build_csr(spec, key);
}

// The permission bits of `path` (0600, 0700, ...).
inline unsigned file_mode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return 0;
  }
  return st.st_mode & 0777;
}

// A unique empty folder under the system temp folder, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "est-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace estfleet::testing
