#include "registry/open_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace estfleet::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(OpenStore, RefusesAnUnknownSchemeInOneSentence) {
  try {
    open_store("mysql://est@db/est");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "database URL mysql://est@db/est has an unknown scheme; use sqlite:///<path> or "
                 "postgresql://…");
  }
  EXPECT_THROW(open_store("registry.db"), std::invalid_argument);
  EXPECT_THROW(open_store("sqlite://registry.db"), std::invalid_argument);
}

TEST(OpenStore, RefusesASqliteUrlWithoutAPath) {
  EXPECT_THROW(open_store("sqlite:///"), std::invalid_argument);
}

TEST(OpenStore, RefusesAnEmptyPostgresPool) {
  StoreOptions options;
  options.pool_size = 0;
  EXPECT_THROW(open_store("postgresql://est@127.0.0.1:1/est", options), std::invalid_argument);
}

TEST(OpenStore, OpensTheSqliteFileTheUrlNames) {
  std::string pattern = (std::filesystem::temp_directory_path() / "est-open-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  {
    const auto store = open_store("sqlite:///" + (dir / "registry.db").string());
    store->ping();
    EXPECT_TRUE(std::filesystem::exists(dir / "registry.db"));
    StoreOptions read_only;
    read_only.read_only = true;
    const auto reader = open_store("sqlite:///" + (dir / "registry.db").string(), read_only);
    EXPECT_THROW(reader->append_audit(AuditEvent{}), StoreUnavailable);
  }
  std::filesystem::remove_all(dir);
}

TEST(OpenStore, TellsPostgresUrlsApart) {
  EXPECT_TRUE(is_postgres_url("postgresql://est@db/est"));
  EXPECT_TRUE(is_postgres_url("postgres://db/est"));
  EXPECT_FALSE(is_postgres_url("sqlite:///registry.db"));
  EXPECT_FALSE(is_postgres_url("postgresql:/db"));
}

TEST(RedactUrl, HidesEveryFormOfPassword) {
  EXPECT_EQ(redact_url("postgresql://est:s3cret@db:5432/est"), "postgresql://est:***@db:5432/est");
  EXPECT_EQ(redact_url("postgresql://db/est?user=est&password=s3cret&sslmode=require"),
            "postgresql://db/est?user=est&password=***&sslmode=require");
  EXPECT_EQ(redact_url("host=db password=s3cret dbname=est"), "host=db password=*** dbname=est");
  EXPECT_EQ(redact_url("postgresql://est@db/est"), "postgresql://est@db/est");
  EXPECT_EQ(redact_url("sqlite:///registry.db"), "sqlite:///registry.db");
}

// Nothing listens on port 1: the refusal names the server but never the password.
TEST(OpenStore, AnUnreachablePostgresServerIsStoreUnavailableWithoutThePassword) {
  try {
    open_store("postgresql://est:s3cret@127.0.0.1:1/est?connect_timeout=2");
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot connect to the PostgreSQL registry"));
    EXPECT_THAT(error.what(), HasSubstr("est:***@127.0.0.1:1"));
    EXPECT_THAT(error.what(), Not(HasSubstr("s3cret")));
  }
}

}  // namespace
}  // namespace estfleet::registry
