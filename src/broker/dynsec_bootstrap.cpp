#include "broker/dynsec_bootstrap.hpp"

#include <stdexcept>

namespace estfleet::broker {

std::string dynsec_bootstrap_json(std::string_view, std::string_view) {
  throw std::logic_error("dynsec_bootstrap_json is not built yet");
}
std::string dynsec_password_hash(std::string_view, std::string_view, int) {
  throw std::logic_error("dynsec_password_hash is not built yet");
}

}  // namespace estfleet::broker
