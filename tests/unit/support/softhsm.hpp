// A fresh SoftHSM2 for the tests of one process: a temporary token folder and configuration
// (SOFTHSM2_CONF points at it), and tokens initialised with softhsm2-util. SoftHSM reads its tokens
// when the module is first initialised in a process, so every token a test binary needs is created
// here, up front, before any test touches the module.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "crypto/pkcs11_key.hpp"

namespace estfleet::testing {

class SoftHsm {
 public:
  static constexpr const char* kPin = "4711-user";
  static constexpr const char* kSoPin = "0815-officer";
  // Tokens: "est-main" for keys the tests create and use; "est-locked-out" is only ever given
  // wrong PINs (SoftHSM answers CKR_USER_ALREADY_LOGGED_IN to any PIN once a process has logged
  // a token in, so the wrong-PIN test needs a token this process never logged in to).
  static constexpr const char* kMainToken = "est-main";
  static constexpr const char* kWrongPinToken = "est-locked-out";

  static SoftHsm& instance() {
    static SoftHsm hsm;
    return hsm;
  }

  crypto::Pkcs11Access access(std::string pin = kPin) const {
    crypto::Pkcs11Access a;
    a.module = crypto::kDefaultPkcs11Module;
    a.pin = std::move(pin);
    return a;
  }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  SoftHsm() {
    std::string pattern = (std::filesystem::temp_directory_path() / "est-softhsm-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary folder for SoftHSM");
    }
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "tokens");
    std::ofstream(dir_ / "softhsm2.conf") << "directories.tokendir = " << (dir_ / "tokens").string()
                                          << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
    for (const char* label : {kMainToken, kWrongPinToken}) {
      const std::string command = std::string("softhsm2-util --init-token --free --label ") +
                                  label + " --pin " + kPin + " --so-pin " + kSoPin +
                                  " >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("softhsm2-util --init-token failed (is softhsm2 installed?)");
      }
    }
  }
  ~SoftHsm() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
};

}  // namespace estfleet::testing
