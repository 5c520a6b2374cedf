// est_registry_conformance_tests runs the conformance tests on PostgreSQL, on the server
// EST_TEST_POSTGRES_URL names (tests/support/postgres_cluster.sh starts one).
#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {

std::vector<std::string> conformance_backends() {
  return {"postgres"};
}

}  // namespace estfleet::registry::testing
