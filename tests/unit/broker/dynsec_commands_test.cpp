#include "broker/dynsec_commands.hpp"

#include <gtest/gtest.h>

#include "broker/dynsec_bootstrap.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::broker {
namespace {

BrokerGrant sample_grant() {
  BrokerGrant grant;
  grant.username = "DeviceAlpha";
  grant.client_ids = {"DeviceAlpha"};
  grant.acls = {
      {AclType::publish_client_send, "sensors/DeviceAlpha/secret", kDenyPriority, false},
      {AclType::publish_client_send, "sensors/DeviceAlpha/+/#", kAllowPriority, true},
      {AclType::subscribe_literal, "commands/DeviceAlpha", kAllowPriority, true},
  };
  return grant;
}

TEST(DynsecCommands, ApplyCreatesThenSetsTheRoleAndCreatesTheClient) {
  const auto commands = commands_to_apply(sample_grant());
  ASSERT_EQ(commands.size(), 3U);
  const nlohmann::json acls = nlohmann::json::parse(R"([
    {"acltype": "publishClientSend", "topic": "sensors/DeviceAlpha/secret", "priority": 2, "allow": false},
    {"acltype": "publishClientSend", "topic": "sensors/DeviceAlpha/+/#", "priority": 1, "allow": true},
    {"acltype": "subscribeLiteral", "topic": "commands/DeviceAlpha", "priority": 1, "allow": true}
  ])");
  EXPECT_EQ(commands[0],
            (nlohmann::json{
                {"command", "createRole"}, {"rolename", "thing:DeviceAlpha"}, {"acls", acls}}));
  EXPECT_EQ(commands[1],
            (nlohmann::json{
                {"command", "modifyRole"}, {"rolename", "thing:DeviceAlpha"}, {"acls", acls}}));
  EXPECT_EQ(commands[2]["command"], "createClient");
  EXPECT_EQ(commands[2]["username"], "DeviceAlpha");
  EXPECT_FALSE(commands[2].contains("password"));  // certificate logins only
  EXPECT_EQ(commands[2]["roles"],
            nlohmann::json::parse(R"([{"rolename": "thing:DeviceAlpha", "priority": 1}])"));
  // Nothing that would disconnect the thing on a re-run.
  for (const auto& command : commands) {
    EXPECT_NE(command["command"], "modifyClient");
    EXPECT_NE(command["command"], "addClientRole");
  }
}

TEST(DynsecCommands, ApplyWithNoAclsStillEmptiesTheRole) {
  auto grant = sample_grant();
  grant.acls.clear();
  const auto commands = commands_to_apply(grant);
  ASSERT_EQ(commands.size(), 3U);
  EXPECT_EQ(commands[1]["command"], "modifyRole");
  EXPECT_EQ(commands[1]["acls"], nlohmann::json::array());
}

TEST(DynsecCommands, RemoveDeletesClientThenRole) {
  const auto commands = commands_to_remove("DeviceAlpha");
  ASSERT_EQ(commands.size(), 2U);
  EXPECT_EQ(commands[0],
            (nlohmann::json{{"command", "deleteClient"}, {"username", "DeviceAlpha"}}));
  EXPECT_EQ(commands[1],
            (nlohmann::json{{"command", "deleteRole"}, {"rolename", "thing:DeviceAlpha"}}));
}

TEST(DynsecCommands, RefusesNamesThatAreNotThingNames) {
  auto grant = sample_grant();
  grant.username = "est-fleet.admin";
  EXPECT_THROW(commands_to_apply(grant), std::invalid_argument);
  EXPECT_THROW(commands_to_remove("est-fleet.admin"), std::invalid_argument);
  EXPECT_THROW(commands_to_remove(""), std::invalid_argument);
}

TEST(DynsecCommands, ListClients) {
  EXPECT_EQ(list_clients_command(),
            nlohmann::json::parse(
                R"({"command": "listClients", "verbose": false, "count": -1, "offset": 0})"));
}

TEST(DynsecCommands, BenignErrorsAreTheAlreadyDoneOnes) {
  EXPECT_TRUE(is_benign_error("createRole", "Role already exists"));
  EXPECT_TRUE(is_benign_error("createClient", "Client already exists"));
  EXPECT_TRUE(is_benign_error("deleteClient", "Client not found"));
  EXPECT_TRUE(is_benign_error("deleteRole", "Role not found"));
  EXPECT_FALSE(is_benign_error("modifyRole", "Role not found"));
  EXPECT_FALSE(is_benign_error("createClient", "Role not found"));
  EXPECT_FALSE(is_benign_error("createRole", "Client already exists"));
  EXPECT_FALSE(is_benign_error("createClient", "Internal error"));
  EXPECT_FALSE(is_benign_error("createClient", ""));
}

// Known answer from Mosquitto itself: `mosquitto_ctrl dynsec init f admin adminpw` wrote this salt
// and hash.
TEST(DynsecBootstrap, PasswordHashMatchesTheBrokersOwn) {
  const auto salt = crypto::base64_decode("PE/uUrQm1SH7+pvp");
  ASSERT_TRUE(salt);
  EXPECT_EQ(
      dynsec_password_hash("adminpw", *salt, 101),
      "RiDA8enD2HAMPINFBYG+eC0g/2x634y7xomRuTmHO2fT01ywLrwxbPotwpPnRku1BizZtS1nGZ15WiQ1SSsRbw==");
  EXPECT_THROW(dynsec_password_hash("adminpw", *salt, 0), std::invalid_argument);
}

TEST(DynsecBootstrap, FileHoldsTheAdminAndDeniesByDefault) {
  const auto text = dynsec_bootstrap_json(kDefaultDynsecAdminUsername, "s3cret-admin");
  const auto json = nlohmann::json::parse(text);
  ASSERT_EQ(json["clients"].size(), 1U);
  const auto& admin = json["clients"][0];
  EXPECT_EQ(admin["username"], kDefaultDynsecAdminUsername);
  EXPECT_EQ(admin["iterations"], 101);
  const auto salt = crypto::base64_decode(admin["salt"].get<std::string>());
  ASSERT_TRUE(salt);
  EXPECT_EQ(salt->size(), kDynsecSaltBytes);
  EXPECT_EQ(admin["password"], dynsec_password_hash("s3cret-admin", *salt, 101));
  EXPECT_EQ(text.find("s3cret-admin"), std::string::npos);
  EXPECT_EQ(admin["roles"], nlohmann::json::parse(R"([{"rolename": "est-fleet-admin"}])"));
  ASSERT_EQ(json["roles"].size(), 1U);
  for (const auto& acl : json["roles"][0]["acls"]) {
    EXPECT_EQ(acl["topic"], "$CONTROL/dynamic-security/#");
  }
  EXPECT_EQ(json["defaultACLAccess"],
            nlohmann::json::parse(R"({"publishClientSend": false, "publishClientReceive": false,
                                      "subscribe": false, "unsubscribe": false})"));
  // A fresh salt every time.
  const auto again =
      nlohmann::json::parse(dynsec_bootstrap_json(kDefaultDynsecAdminUsername, "s3cret-admin"));
  EXPECT_NE(again["clients"][0]["salt"], admin["salt"]);
}

TEST(DynsecBootstrap, RefusesUnsafeAdminCredentials) {
  EXPECT_THROW(dynsec_bootstrap_json("admin", "pw"), std::invalid_argument);  // a ThingName
  EXPECT_THROW(dynsec_bootstrap_json("", "pw"), std::invalid_argument);
  EXPECT_THROW(dynsec_bootstrap_json("a.b\n", "pw"), std::invalid_argument);
  EXPECT_THROW(dynsec_bootstrap_json("a.b", ""), std::invalid_argument);
  EXPECT_THROW(dynsec_bootstrap_json("a.b", "p\x01w"), std::invalid_argument);
}

}  // namespace
}  // namespace estfleet::broker
