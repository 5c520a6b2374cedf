// ca.key as a file or a PKCS#11 URI, the PIN's sources, and init --pkcs11 into a SoftHSM2 token.
#include "server/ca_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "server/data_folder.hpp"
#include "support/softhsm.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

class CaKeyConfigTest : public ::testing::Test {
 protected:
  // The default config with its [ca] key line replaced by `lines`.
  void write_ca(const std::string& lines) {
    std::string text = default_config_text();
    const std::string line = "key = \"ca/issuing.key\"";
    const auto at = text.find(line);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, text.find('\n', at) - at, lines);
    std::ofstream(dir_.path() / kConfigFileName) << text;
  }
  void write_pin(const std::string& pin, fs::perms perms) {
    std::ofstream(dir_.path() / "pin") << pin;
    fs::permissions(dir_.path() / "pin", perms);
  }
  testing::TempDir dir_;
};

TEST_F(CaKeyConfigTest, AFileKeyStaysAFile) {
  write_ca("key = \"ca/issuing.key\"");
  const auto config = load_config(dir_.path());
  EXPECT_EQ(config.ca_key, dir_.path() / "ca/issuing.key");
  EXPECT_FALSE(config.ca_key_pkcs11.has_value());
  const auto source = signing_key_source(config);
  EXPECT_FALSE(source.token_key.has_value());
  EXPECT_EQ(source.describe(), (dir_.path() / "ca/issuing.key").string());
}

TEST_F(CaKeyConfigTest, APkcs11UriWithItsPinFileAndModule) {
  write_ca(
      "key = \"pkcs11:token=hsm;object=issuing\"\npin_file = \"pin\"\n"
      "pkcs11_module = \"/opt/vendor/libp11.so\"");
  write_pin("1234\n", fs::perms::owner_read | fs::perms::owner_write);
  const auto config = load_config(dir_.path());
  ASSERT_TRUE(config.ca_key_pkcs11.has_value());
  EXPECT_EQ(config.ca_key_pkcs11->token, "hsm");
  EXPECT_EQ(config.ca_key_pkcs11->object, "issuing");
  EXPECT_EQ(config.ca_pin_file, dir_.path() / "pin");
  EXPECT_EQ(config.pkcs11_module, "/opt/vendor/libp11.so");
  const auto source = signing_key_source(config);
  EXPECT_EQ(source.access.pin, "1234");
  EXPECT_EQ(source.access.module, "/opt/vendor/libp11.so");
  EXPECT_EQ(source.describe(), "object 'issuing' in PKCS#11 token 'hsm'");
}

TEST_F(CaKeyConfigTest, BadPkcs11SettingsAreRefusedByName) {
  write_ca("key = \"pkcs11:token=hsm;object=issuing?pin-value=1234\"");
  EXPECT_THAT(error_of([&] { load_config(dir_.path()); }), HasSubstr("'ca.key': the PKCS#11 URI"));
  write_ca("key = \"pkcs11:object=issuing\"");
  EXPECT_THAT(error_of([&] { load_config(dir_.path()); }), HasSubstr("names no token"));
  write_ca("key = \"ca/issuing.key\"\npin_file = \"pin\"");
  EXPECT_THAT(error_of([&] { load_config(dir_.path()); }),
              HasSubstr("apply only when 'ca.key' is a pkcs11: URI"));
  write_ca("key = \"pkcs11:token=hsm;object=issuing\"\npin = \"1234\"");
  EXPECT_THAT(error_of([&] { load_config(dir_.path()); }), HasSubstr("unknown key 'pin'"));
}

TEST_F(CaKeyConfigTest, ThePinComesFromAPrivateFileOrTheEnvironment) {
  const auto pin_file = dir_.path() / "pin";
  write_pin("from-file\r\n", fs::perms::owner_read);
  ::setenv(kPkcs11PinVariable, "from-env", 1);
  EXPECT_EQ(read_pkcs11_pin(pin_file), "from-file");
  EXPECT_EQ(read_pkcs11_pin(std::nullopt), "from-env");
  ::unsetenv(kPkcs11PinVariable);
  EXPECT_THAT(error_of([] { read_pkcs11_pin(std::nullopt); }),
              HasSubstr("no PIN was given: set ca.pin_file or the environment variable "
                        "EST_PKCS11_PIN"));
  write_pin("from-file\n", fs::perms::owner_read | fs::perms::group_read);
  EXPECT_THAT(error_of([&] { read_pkcs11_pin(pin_file); }),
              HasSubstr("readable by group or others; chmod 600 it"));
  write_pin("\n", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(error_of([&] { read_pkcs11_pin(pin_file); }), HasSubstr("is empty"));
  EXPECT_THAT(error_of([&] { read_pkcs11_pin(dir_.path() / "absent"); }),
              HasSubstr("does not exist"));
}

TEST(InitPkcs11, GeneratesTheIssuingKeyInTheTokenAndWritesNoKeyFile) {
  auto& hsm = estfleet::testing::SoftHsm::instance();
  testing::TempDir dir;
  const auto pin_file = dir.path() / "pin";
  std::ofstream(pin_file) << estfleet::testing::SoftHsm::kPin << "\n";
  fs::permissions(pin_file, fs::perms::owner_read | fs::perms::owner_write);
  InitOptions options;
  options.data_dir = dir.path() / "data";
  options.pkcs11_uri = std::string("pkcs11:token=") + estfleet::testing::SoftHsm::kMainToken +
                       ";object=init-issuing";
  options.pkcs11_pin_file = pin_file;
  const auto result = initialize_data_folder(options);
  ASSERT_TRUE(result.pkcs11_key.has_value());
  EXPECT_THAT(*result.pkcs11_key, HasSubstr("object=init-issuing;id=%"));
  EXPECT_FALSE(fs::exists(options.data_dir / "ca" / "issuing.key"));

  const auto config = load_config(options.data_dir);
  ASSERT_TRUE(config.ca_key_pkcs11.has_value());
  EXPECT_EQ(config.ca_key_pkcs11->to_string(), *result.pkcs11_key);
  EXPECT_EQ(config.ca_pin_file, pin_file);
  const auto authority = ca::load_authority(signing_key_source(config), config.ca_chain);
  EXPECT_TRUE(crypto::is_token_key(authority.issuing_key()));
  const auto protection = crypto::inspect_pkcs11_key(*config.ca_key_pkcs11, hsm.access());
  EXPECT_FALSE(protection.extractable);
  EXPECT_FALSE(protection.value_readable);

  // A second init of the same object is refused by the token before anything is created.
  InitOptions again = options;
  again.data_dir = dir.path() / "other";
  EXPECT_THAT(error_of([&] { initialize_data_folder(again); }),
              HasSubstr("already holds a private key labelled 'init-issuing'"));
  EXPECT_FALSE(fs::exists(again.data_dir / "ca"));
}

TEST(InitPkcs11, RefusesBadInputBeforeCreatingAnything) {
  testing::TempDir dir;
  InitOptions options;
  options.data_dir = dir.path() / "data";
  options.pkcs11_uri = "pkcs11:token=x";
  EXPECT_THAT(error_of([&] { initialize_data_folder(options); }),
              HasSubstr("--pkcs11: the PKCS#11 URI names no key"));
  options.pkcs11_uri = "pkcs11:token=x;object=y";
  options.pkcs11_pin_file = dir.path() / "absent-pin";
  EXPECT_THAT(error_of([&] { initialize_data_folder(options); }), HasSubstr("does not exist"));
  options.pkcs11_uri.reset();
  EXPECT_THAT(error_of([&] { initialize_data_folder(options); }),
              HasSubstr("--pin-file and --pkcs11-module go with --pkcs11"));
  EXPECT_FALSE(fs::exists(options.data_dir));
}

}  // namespace
}  // namespace estfleet::server
