#include "server/broker_setup.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

using ::testing::HasSubstr;

BrokerConfig sample_broker() {
  BrokerConfig broker;
  broker.admin_port = 18884;
  broker.admin_username = "est-fleet.admin";
  broker.admin_password_file = "broker/admin.password";
  broker.crl_file = "/srv/broker/crl.pem";
  broker.pid_file = "/srv/broker/mosquitto.pid";
  return broker;
}

TEST(BrokerTable, IsAppendedWhenAbsent) {
  const auto text = replace_broker_table("[crl]\nvalidity = \"1d\"", "[broker]\nadmin_port = 1\n");
  EXPECT_EQ(text, "[crl]\nvalidity = \"1d\"\n\n[broker]\nadmin_port = 1\n");
}

TEST(BrokerTable, ReplacesOnlyItsOwnTable) {
  const std::string before =
      "[crl]\nvalidity = \"1d\"\n[broker]\nadmin_port = 1\n# old comment\n\n"
      "[profiles.default]\nauth = [\"basic\"]\n";
  const auto text = replace_broker_table(before, "[broker]\nadmin_port = 2\n");
  EXPECT_EQ(text,
            "[crl]\nvalidity = \"1d\"\n[broker]\nadmin_port = 2\n\n"
            "[profiles.default]\nauth = [\"basic\"]\n");
  // At the end of the file, and a table whose name only starts with "broker" is another table.
  EXPECT_EQ(replace_broker_table("[a]\n[broker]\nx = 1\n", "[broker]\ny = 2\n"),
            "[a]\n[broker]\ny = 2\n");
  EXPECT_EQ(replace_broker_table("[brokers]\nx = 1\n", "[broker]\ny = 2\n"),
            "[brokers]\nx = 1\n\n[broker]\ny = 2\n");
}

class BrokerConfigFileTest : public ::testing::Test {
 protected:
  void write(const std::string& broker_table) {
    std::ofstream(dir_.path() / kConfigFileName) << default_config_text() << "\n" << broker_table;
  }
  testing::TempDir dir_;
};

TEST_F(BrokerConfigFileTest, TheTableItWritesLoadsBack) {
  write(broker_config_table(sample_broker()));
  const auto config = load_config(dir_.path());
  ASSERT_TRUE(config.broker);
  EXPECT_EQ(config.broker->admin_host, "127.0.0.1");
  EXPECT_EQ(config.broker->admin_port, 18884);
  EXPECT_EQ(config.broker->admin_username, "est-fleet.admin");
  EXPECT_EQ(config.broker->admin_password_file, dir_.path() / "broker/admin.password");
  EXPECT_EQ(config.broker->crl_file, "/srv/broker/crl.pem");
  EXPECT_EQ(config.broker->pid_file, "/srv/broker/mosquitto.pid");
  EXPECT_EQ(config.broker->timeout, std::chrono::seconds(5));
}

TEST_F(BrokerConfigFileTest, WithoutTheTableThereIsNoBroker) {
  write("");
  EXPECT_FALSE(load_config(dir_.path()).broker);
}

TEST_F(BrokerConfigFileTest, RefusesIncompleteOrWrongTables) {
  const std::string complete = broker_config_table(sample_broker());
  const auto without = [&complete](const std::string& key) {
    std::string text;
    std::size_t at = 0;
    while (at < complete.size()) {
      const auto end = complete.find('\n', at);
      const auto line = complete.substr(at, end - at + 1);
      if (line.rfind(key + " =", 0) != 0) {
        text += line;
      }
      at = end + 1;
    }
    return text;
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {without("admin_port"), "'broker.admin_port' must be a port number"},
      {without("admin_password_file"), "'broker.admin_password_file' is required"},
      {without("crl_file"), "'broker.crl_file' is required"},
      {without("pid_file"), "'broker.pid_file' is required"},
      {without("admin_username"), "'broker.admin_username' is required"},
      {complete + "reload = \"kill\"\n", "unknown key 'reload' in [broker]"},
      {without("timeout") + "timeout = \"1s\"\n", "'broker.timeout' must be at least 2s"},
      {without("admin_port") + "admin_port = 70000\n", "'broker.admin_port' must be a port"},
      // A name a device could enroll would make that device the broker's administrator.
      {without("admin_username") + "admin_username = \"backend\"\n",
       "'broker.admin_username' is 'backend', which a device could enroll as its ThingName"},
  };
  for (const auto& [text, message] : cases) {
    write(text);
    EXPECT_THAT([&] { load_config(dir_.path()); },
                ::testing::ThrowsMessage<std::runtime_error>(HasSubstr(message)))
        << text;
  }
}

TEST_F(BrokerConfigFileTest, RunningBrokerIsOnlyAMosquittoFromThePidFile) {
  auto broker = sample_broker();
  broker.pid_file = dir_.path() / "mosquitto.pid";
  EXPECT_FALSE(running_broker_pid(broker));  // no pid file
  std::ofstream(broker.pid_file) << "garbage\n";
  EXPECT_FALSE(running_broker_pid(broker));
  // This test's own pid: a running process, but not Mosquitto, so never signalled.
  std::ofstream(broker.pid_file) << ::getpid() << "\n";
  EXPECT_FALSE(running_broker_pid(broker));
}

TEST_F(BrokerConfigFileTest, CrlDeliveryWritesTheCopyAndSaysTheBrokerIsNotRunning) {
  auto broker = sample_broker();
  broker.crl_file = dir_.path() / "crl.pem";
  broker.pid_file = dir_.path() / "mosquitto.pid";
  const auto delivery = deliver_crl_to_broker(broker, "-----BEGIN X509 CRL-----\n");
  EXPECT_TRUE(delivery.ok);
  EXPECT_FALSE(delivery.reloaded);
  EXPECT_THAT(delivery.message, HasSubstr("not running"));
  std::ifstream copy(broker.crl_file);
  std::string first;
  std::getline(copy, first);
  EXPECT_EQ(first, "-----BEGIN X509 CRL-----");
  EXPECT_EQ(std::filesystem::status(broker.crl_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::others_read);

  broker.crl_file = dir_.path() / "no-such-folder" / "crl.pem";
  const auto failed = deliver_crl_to_broker(broker, "x");
  EXPECT_FALSE(failed.ok);
  EXPECT_THAT(failed.message, HasSubstr("could not be written"));
}

}  // namespace
}  // namespace estfleet::server
