// Against a real Mosquitto with the dynamic-security plugin on loopback: a grant applied through
// DynsecClient takes effect for devices logging in with their certificates, re-applying it changes
// nothing (and keeps the device connected), and removing it disconnects the device. Skipped only
// when mosquitto or the plugin is not installed (EST_MOSQUITTO, EST_DYNSEC_PLUGIN override the
// Debian paths); CI installs both.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/acl_translation.hpp"
#include "broker/dynsec_bootstrap.hpp"
#include "broker/dynsec_client.hpp"
#include "broker/dynsec_commands.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "policy/document.hpp"

extern char** environ;

namespace estfleet::broker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  return bound ? ntohs(address.sin_port) : 0;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

void run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// A device (or observer) logged in with its certificate, with what it received.
class Device {
 public:
  Device(const fs::path& dir, const std::string& name, int port, const std::string& client_id)
      : mosq_(mosquitto_new(client_id.c_str(), true, this)) {
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      auto& device = *static_cast<Device*>(self);
      const std::lock_guard lock(device.mutex_);
      device.connack_ = rc;
      device.changed_.notify_all();
    });
    mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
      auto& device = *static_cast<Device*>(self);
      const std::lock_guard lock(device.mutex_);
      device.disconnected_ = true;
      device.changed_.notify_all();
    });
    mosquitto_subscribe_callback_set(mosq_,
                                     [](mosquitto*, void* self, int, int count, const int* qos) {
                                       auto& device = *static_cast<Device*>(self);
                                       const std::lock_guard lock(device.mutex_);
                                       device.granted_.push_back(count > 0 ? qos[0] : 128);
                                       device.changed_.notify_all();
                                     });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto& device = *static_cast<Device*>(self);
      const std::lock_guard lock(device.mutex_);
      device.received_.push_back(std::string(m->topic) + " " +
                                 std::string(static_cast<const char*>(m->payload),
                                             static_cast<std::size_t>(m->payloadlen)));
      device.changed_.notify_all();
    });
    mosquitto_reconnect_delay_set(mosq_, 60, 60, false);  // a kicked device stays off
    mosquitto_tls_set(mosq_, (dir / "ca.pem").c_str(), nullptr, (dir / (name + ".pem")).c_str(),
                      (dir / (name + ".key")).c_str(), nullptr);
    mosquitto_loop_start(mosq_);
    mosquitto_connect_async(mosq_, "127.0.0.1", port, 30);
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return connack_ >= 0; });
  }
  ~Device() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  bool connected() {
    const std::lock_guard lock(mutex_);
    return connack_ == 0 && !disconnected_;
  }
  // The granted QoS of the SUBACK, 128 when refused.
  int subscribe(const std::string& filter) {
    std::unique_lock lock(mutex_);
    const auto before = granted_.size();
    lock.unlock();
    mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 1);
    lock.lock();
    changed_.wait_for(lock, 5s, [&] { return granted_.size() > before; });
    return granted_.size() > before ? granted_.back() : -1;
  }
  void publish(const std::string& topic, const std::string& payload) {
    mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                      payload.data(), 1, false);
  }
  // Waits until `message` ("topic payload") arrives; returns everything received until then.
  std::vector<std::string> wait_for(const std::string& message) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] {
      return std::find(received_.begin(), received_.end(), message) != received_.end();
    });
    auto received = received_;
    received_.clear();
    return received;
  }
  // What arrived so far, without waiting.
  std::vector<std::string> take() {
    const std::lock_guard lock(mutex_);
    auto received = received_;
    received_.clear();
    return received;
  }
  bool wait_disconnected() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return disconnected_; });
  }

 private:
  mosquitto* mosq_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int connack_ = -1;
  bool disconnected_ = false;
  std::vector<int> granted_;
  std::vector<std::string> received_;
};

bool contains(const std::vector<std::string>& messages, const std::string& message) {
  return std::find(messages.begin(), messages.end(), message) != messages.end();
}

class DynsecBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto mosquitto = env_or("EST_MOSQUITTO", "/usr/sbin/mosquitto");
    const auto plugin =
        env_or("EST_DYNSEC_PLUGIN", "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so");
    if (!fs::exists(mosquitto) || !fs::exists(plugin)) {
      GTEST_SKIP() << "mosquitto (" << mosquitto << ") or its dynamic-security plugin (" << plugin
                   << ") is not installed";
    }
    std::string pattern = (fs::temp_directory_path() / "est-broker-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    const auto d = dir_.string();
    // A CA, the broker's certificate and two devices' certificates (CN = ThingName).
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
        "/ca.key -out " + d + "/ca.pem -subj /CN=TestCA -days 2");
    write_file(dir_ / "san.ext", "subjectAltName=IP:127.0.0.1\n");
    for (const std::string name : {"server", "DeviceAlpha", "DeviceBeta"}) {
      run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d + "/" +
          name + ".key -out " + d + "/" + name + ".csr -subj /CN=" + name);
      run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -days 2 -out " + d + "/" + name + ".pem" +
          (name == "server" ? " -extfile " + d + "/san.ext" : ""));
    }
    admin_password_ = crypto::hex_encode(crypto::random_bytes(16));
    write_file(dir_ / "dynamic-security.json",
               dynsec_bootstrap_json(kDefaultDynsecAdminUsername, admin_password_));
    admin_port_ = free_port();
    device_port_ = free_port();
    ASSERT_TRUE(admin_port_ > 0 && device_port_ > 0 && admin_port_ != device_port_);
    const bool root = ::geteuid() == 0;
    write_file(dir_ / "mosquitto.conf",
               std::string(root ? "user nobody\n" : "") +
                   "per_listener_settings false\nallow_anonymous false\n"
                   "plugin " +
                   plugin + "\nplugin_opt_config_file " + d +
                   "/dynamic-security.json\n"
                   "listener " +
                   std::to_string(admin_port_) +
                   " 127.0.0.1\n"
                   "listener " +
                   std::to_string(device_port_) +
                   " 127.0.0.1\n"
                   "cafile " +
                   d + "/ca.pem\ncertfile " + d + "/server.pem\nkeyfile " + d +
                   "/server.key\nrequire_certificate true\nuse_identity_as_username true\n"
                   "use_username_as_clientid true\n");
    if (root) {
      // The broker drops to nobody and rewrites its dynsec file (a new file, renamed) there.
      const passwd* nobody = ::getpwnam("nobody");
      ASSERT_NE(nobody, nullptr);
      for (const auto& entry : fs::directory_iterator(dir_)) {
        ASSERT_EQ(::chown(entry.path().c_str(), nobody->pw_uid, nobody->pw_gid), 0);
      }
      ASSERT_EQ(::chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    }
    const std::string log = d + "/mosquitto.log";
    std::vector<std::string> args{mosquitto, "-c", d + "/mosquitto.conf"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&broker_pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    // Ready when the admin can log in.
    for (int attempt = 0; attempt < 100; ++attempt) {
      try {
        DynsecClient probe(endpoint());
        return;
      } catch (const BrokerUnavailable&) {
        std::this_thread::sleep_for(100ms);
      }
    }
    FAIL() << "the broker did not accept the admin within 10 s; see " << log;
  }

  void TearDown() override {
    if (broker_pid_ > 0) {
      ::kill(broker_pid_, SIGTERM);
      int status = 0;
      ::waitpid(broker_pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
  }

  BrokerEndpoint endpoint() const {
    BrokerEndpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = admin_port_;
    endpoint.username = kDefaultDynsecAdminUsername;
    endpoint.password = admin_password_;
    endpoint.timeout = 3000ms;
    return endpoint;
  }

  static void expect_ok(const std::vector<CommandResult>& results, std::size_t count) {
    ASSERT_EQ(results.size(), count);
    for (const auto& result : results) {
      EXPECT_TRUE(result.error.empty() || is_benign_error(result.command, result.error))
          << result.command << ": " << result.error;
    }
  }

  fs::path dir_;
  std::string admin_password_;
  int admin_port_ = 0;
  int device_port_ = 0;
  pid_t broker_pid_ = -1;
};

policy::PolicyDocument alpha_document(bool may_publish) {
  return policy::parse_policy_document(std::string(R"({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "client/${ThingName}"},)") +
                                       (may_publish ? R"(
    {"Effect": "Allow", "Action": "iot:Publish", "Resource": "topic/sensors/${ThingName}/*"},)"
                                                    : "") +
                                       R"(
    {"Effect": "Deny", "Action": "iot:Publish", "Resource": "topic/sensors/${ThingName}/secret"},
    {"Effect": "Allow", "Action": "iot:Receive", "Resource": "topic/commands/${ThingName}"},
    {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "topicfilter/commands/${ThingName}"}
  ]})");
}

policy::PolicyDocument beta_document() {
  return policy::parse_policy_document(R"({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "client/${ThingName}"},
    {"Effect": "Allow", "Action": "iot:Publish", "Resource": "topic/commands/*"},
    {"Effect": "Allow", "Action": "iot:Receive", "Resource": "topic/sensors/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "topicfilter/sensors/*"}
  ]})");
}

TEST_F(DynsecBroker, AppliesReappliesAndRemovesAGrant) {
  DynsecClient admin(endpoint());
  const auto alpha = translate_policy("DeviceAlpha", alpha_document(true));
  const auto beta = translate_policy("DeviceBeta", beta_document());
  expect_ok(admin.execute(commands_to_apply(alpha)), 3);
  expect_ok(admin.execute(commands_to_apply(beta)), 3);

  // The broker holds exactly the translated ACLs.
  const auto role =
      admin.execute({{{"command", "getRole"}, {"rolename", role_name_for("DeviceAlpha")}}});
  ASSERT_EQ(role.size(), 1U);
  ASSERT_TRUE(role[0].error.empty()) << role[0].error;
  EXPECT_EQ(role[0].data["role"]["acls"].size(), alpha.acls.size());

  Device observer(dir_, "DeviceBeta", device_port_, "DeviceBeta");
  ASSERT_TRUE(observer.connected());
  EXPECT_LT(observer.subscribe("sensors/#"), 128);
  EXPECT_EQ(observer.subscribe("commands/#"), 128);  // Beta may publish there, not subscribe

  // Alpha asks for Beta's client id; the broker gives it its own, so Beta stays connected.
  Device device(dir_, "DeviceAlpha", device_port_, "DeviceBeta");
  ASSERT_TRUE(device.connected());
  EXPECT_LT(device.subscribe("commands/DeviceAlpha"), 128);
  EXPECT_EQ(device.subscribe("commands/DeviceBeta"), 128);
  EXPECT_EQ(device.subscribe("commands/#"), 128);

  device.publish("sensors/DeviceAlpha/secret", "denied");  // explicit Deny
  device.publish("sensors/DeviceBeta/t", "denied");        // another thing's topic
  device.publish("sensors/DeviceAlpha", "denied");         // a/* does not match a
  device.publish("sensors/DeviceAlpha/t", "allowed");
  auto seen = observer.wait_for("sensors/DeviceAlpha/t allowed");
  EXPECT_EQ(seen, std::vector<std::string>{"sensors/DeviceAlpha/t allowed"});
  EXPECT_TRUE(observer.connected());

  observer.publish("commands/DeviceAlpha", "do");
  EXPECT_TRUE(contains(device.wait_for("commands/DeviceAlpha do"), "commands/DeviceAlpha do"));

  // Re-applying changes nothing, fails nothing that matters, and leaves the device connected.
  const auto again = admin.execute(commands_to_apply(alpha));
  expect_ok(again, 3);
  EXPECT_EQ(again[0].error, "Role already exists");
  EXPECT_EQ(again[1].error, "");
  EXPECT_EQ(again[2].error, "Client already exists");
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(device.connected());
  device.publish("sensors/DeviceAlpha/t", "again");
  EXPECT_TRUE(
      contains(observer.wait_for("sensors/DeviceAlpha/t again"), "sensors/DeviceAlpha/t again"));

  // A narrower grant takes effect at once, on the open connection.
  expect_ok(
      admin.execute(commands_to_apply(translate_policy("DeviceAlpha", alpha_document(false)))), 3);
  device.publish("sensors/DeviceAlpha/t", "now-denied");
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(observer.take().empty());
  EXPECT_TRUE(device.connected());

  // Removing the thing disconnects it; a second removal only answers "not found".
  expect_ok(admin.execute(commands_to_remove("DeviceAlpha")), 2);
  EXPECT_TRUE(device.wait_disconnected());
  const auto removed_again = admin.execute(commands_to_remove("DeviceAlpha"));
  ASSERT_EQ(removed_again.size(), 2U);
  EXPECT_EQ(removed_again[0].error, "Client not found");
  EXPECT_EQ(removed_again[1].error, "Role not found");

  const auto listed = admin.execute({list_clients_command()});
  ASSERT_EQ(listed.size(), 1U);
  const auto& clients = listed[0].data["clients"];
  EXPECT_NE(std::find(clients.begin(), clients.end(), "DeviceBeta"), clients.end());
  EXPECT_EQ(std::find(clients.begin(), clients.end(), "DeviceAlpha"), clients.end());

  // Without a dynsec client the certificate still connects, and may do nothing.
  Device removed(dir_, "DeviceAlpha", device_port_, "DeviceAlpha");
  ASSERT_TRUE(removed.connected());
  EXPECT_EQ(removed.subscribe("commands/DeviceAlpha"), 128);
}

TEST_F(DynsecBroker, AnUnknownCommandIsAnErrorNotAnException) {
  DynsecClient admin(endpoint());
  const auto results = admin.execute({{{"command", "noSuchCommand"}}, list_clients_command()});
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].error, "Unknown command");
  EXPECT_TRUE(results[1].error.empty());
  EXPECT_TRUE(admin.execute({}).empty());
  EXPECT_THROW(admin.execute({nlohmann::json::array()}), std::invalid_argument);
}

TEST_F(DynsecBroker, RefusedLoginsAndClosedPortsAreBrokerUnavailable) {
  auto wrong = endpoint();
  wrong.password = "not-the-password";
  try {
    DynsecClient admin(wrong);
    FAIL() << "a wrong admin password connected";
  } catch (const BrokerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(admin_port_)),
              std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("refused"), std::string::npos) << error.what();
  }

  auto closed = endpoint();
  closed.port = free_port();
  closed.timeout = 1000ms;
  const auto started = std::chrono::steady_clock::now();
  try {
    DynsecClient admin(closed);
    FAIL() << "connected to a closed port";
  } catch (const BrokerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(closed.port)),
              std::string::npos)
        << error.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

}  // namespace
}  // namespace estfleet::broker
