#include "server/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <tuple>

#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("90"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("15m"), std::chrono::minutes(15));
  EXPECT_EQ(parse_duration("12h"), std::chrono::hours(12));
  EXPECT_EQ(parse_duration("365d"), std::chrono::hours(24 * 365));
  for (const char* bad : {"", "d", "-1s", "5w", "1.5h", "5 m"}) {
    EXPECT_THROW(parse_duration(bad), std::invalid_argument) << bad;
  }
}

TEST(ListenAddress, ParsesHostsAndPorts) {
  http::ServerOptions options;
  apply_listen_address("0.0.0.0:9443", options);
  EXPECT_EQ(options.listen_host, "0.0.0.0");
  EXPECT_EQ(options.listen_port, 9443);
  apply_listen_address("[::1]:0", options);
  EXPECT_EQ(options.listen_host, "::1");
  EXPECT_EQ(options.listen_port, 0);
  for (const char* bad : {"8443", "host:", ":8443", "host:70000", "host:12ab"}) {
    EXPECT_THROW(apply_listen_address(bad, options), std::invalid_argument) << bad;
  }
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void write(const std::string& text) { std::ofstream(dir_.path() / kConfigFileName) << text; }
  testing::TempDir dir_;
};

TEST_F(ConfigFileTest, TheDefaultConfigLoads) {
  write(default_config_text());
  const auto config = load_config(dir_.path());
  EXPECT_EQ(config.http.listen_port, 8443);
  EXPECT_EQ(config.http.max_body_bytes, 65536u);
  EXPECT_EQ(config.database_path, dir_.path() / "registry.db");
  ASSERT_EQ(config.profiles.size(), 1u);
  EXPECT_EQ(config.profiles[0].label, "");
  EXPECT_FALSE(config.profiles[0].require_pop);
}

TEST_F(ConfigFileTest, LimitsAreReadAndChecked) {
  write(default_config_text());
  const auto defaults = load_config(dir_.path()).auth_limits;
  EXPECT_EQ(defaults.failures_per_minute, 10u);
  EXPECT_EQ(defaults.burst, 30u);
  EXPECT_EQ(defaults.max_sources, 100'000u);
  // The default config with one line of [limits] replaced.
  const auto with_line = [](const std::string& line, const std::string& replacement) {
    std::string text = default_config_text();
    const auto at = text.find(line);
    EXPECT_NE(at, std::string::npos) << line;
    return text.replace(at, line.size(), replacement);
  };
  write(with_line("auth_failures_per_minute = 10", "auth_failures_per_minute = 0"));
  EXPECT_EQ(load_config(dir_.path()).auth_limits.failures_per_minute, 0u);
  write(with_line("auth_failure_burst = 30", "auth_failure_burst = 2"));
  EXPECT_EQ(load_config(dir_.path()).auth_limits.burst, 2u);
  for (const auto& [line, bad, needle] :
       {std::tuple{"auth_failure_burst = 30", "auth_failure_burst = 0",
                   "limits.auth_failure_burst"},
        std::tuple{"auth_failures_per_minute = 10", "auth_failures_per_minute = -1",
                   "limits.auth_failures_per_minute"},
        std::tuple{"auth_failure_burst = 30", "auth_failures = 3", "auth_failures"}}) {
    write(with_line(line, bad));
    try {
      load_config(dir_.path());
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST_F(ConfigFileTest, TheDatabaseUrlNamesTheSqliteFileOrAPostgresServer) {
  const auto with_database = [](const std::string& lines) {
    std::string text = default_config_text();
    const std::string line = "url = \"sqlite:///registry.db\"";
    const auto at = text.find(line);
    EXPECT_NE(at, std::string::npos);
    return text.replace(at, line.size(), lines);
  };
  write(default_config_text());
  auto config = load_config(dir_.path());
  EXPECT_EQ(config.database_url, "sqlite:///" + (dir_.path() / "registry.db").string());
  EXPECT_EQ(config.database_pool_size, 8u);

  write(with_database("url = \"sqlite:////var/lib/est/registry.db\""));
  EXPECT_EQ(load_config(dir_.path()).database_url, "sqlite:////var/lib/est/registry.db");

  write(with_database("url = \"postgresql://est@db.example:5432/est\"\npool_size = 16"));
  config = load_config(dir_.path());
  EXPECT_EQ(config.database_url, "postgresql://est@db.example:5432/est");
  EXPECT_EQ(config.database_pool_size, 16u);
  EXPECT_TRUE(config.database_path.empty());

  for (const auto& [lines, needle] :
       {std::pair{"url = \"mysql://est@db/est\"", "'database.url' must be sqlite:///<path> or"},
        std::pair{"url = \"sqlite:///\"", "'database.url' must be"},
        std::pair{"url = \"postgresql://db/est\"\npool_size = 0", "'database.pool_size'"},
        std::pair{"url = \"postgresql://db/est\"\npool = 4", "pool"}}) {
    write(with_database(lines));
    try {
      load_config(dir_.path());
      ADD_FAILURE() << "accepted: " << lines;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST_F(ConfigFileTest, LabelledProfilesAreAppended) {
  write(default_config_text() +
        "\n[profiles.pop]\nauth = [\"basic\"]\nrequire_pop = true\n"
        "validity = \"30s\"\nbackdate = \"5s\"\n");
  const auto config = load_config(dir_.path());
  ASSERT_EQ(config.profiles.size(), 2u);
  const auto& pop = config.profiles[1].label == "pop" ? config.profiles[1] : config.profiles[0];
  EXPECT_EQ(pop.label, "pop");
  EXPECT_TRUE(pop.require_pop);
  EXPECT_EQ(pop.validity, std::chrono::seconds(30));
}

TEST_F(ConfigFileTest, RefusesWithTheKeyNamed) {
  const auto expect_refusal = [&](const std::string& text, const std::string& needle) {
    write(text);
    try {
      load_config(dir_.path());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string base = default_config_text();
  expect_refusal(base + "\n[profiles.x]\nrequire_pops = true\n", "require_pops");
  expect_refusal(base + "\n[profiles.x]\nauth = [\"password\"]\n", "password");
  expect_refusal(base + "\n[profiles.x]\nauth = [\"tls-client\"]\n", "bootstrap_trust");
  expect_refusal(base + "\n[profiles.x]\nvalidity = \"1y\"\n", "unit");
  // The default backdate (5m) against a validity of 12 s: every certificate would be due at once.
  expect_refusal(base + "\n[profiles.x]\nvalidity = \"12s\"\n",
                 "'profiles.x.backdate' (300 s) is more than a quarter of 'profiles.x.validity' "
                 "(12 s)");
  expect_refusal(base + "\n[profiles.x]\nvalidity = \"40s\"\nbackdate = \"11s\"\n",
                 "'profiles.x.backdate' (11 s)");
  expect_refusal(base + "\n[profiles.\"a.b\"]\n", "label");
  expect_refusal(base + "\n[surprise]\n", "surprise");
  expect_refusal("[server\n", "TOML");
  std::filesystem::remove(dir_.path() / kConfigFileName);
  EXPECT_THROW(load_config(dir_.path()), std::runtime_error);
}

}  // namespace
}  // namespace estfleet::server
