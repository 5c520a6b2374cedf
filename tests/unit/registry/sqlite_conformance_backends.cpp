// est_registry_tests runs the conformance tests on SQLite; PostgreSQL runs them in
// est_registry_conformance_tests, under a server the test starts (tests/registry_conformance/).
#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {

std::vector<std::string> conformance_backends() {
  return {"sqlite"};
}

}  // namespace estfleet::registry::testing
