#include "broker/acl_translation.hpp"

#include <stdexcept>

namespace estfleet::broker {

std::string_view dynsec_acl_type(AclType type) {
  switch (type) {
    case AclType::publish_client_send:
      return "publishClientSend";
    case AclType::publish_client_receive:
      return "publishClientReceive";
    case AclType::subscribe_pattern:
      return "subscribePattern";
    case AclType::subscribe_literal:
      return "subscribeLiteral";
    case AclType::unsubscribe_pattern:
      return "unsubscribePattern";
  }
  throw std::invalid_argument("unknown ACL type");
}

std::string role_name_for(std::string_view thing_name) {
  return "thing:" + std::string(thing_name);
}

BrokerGrant translate_policy(std::string_view thing_name, const policy::PolicyDocument&) {
  BrokerGrant grant;
  grant.username = std::string(thing_name);
  return grant;
}

}  // namespace estfleet::broker
