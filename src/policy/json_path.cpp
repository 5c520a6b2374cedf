#include "policy/json_path.hpp"

#include <set>
#include <vector>

#include "policy/policy_error.hpp"

namespace estfleet::policy::detail {
namespace {

bool is_identifier(std::string_view key) {
  if (key.empty() || (key.front() >= '0' && key.front() <= '9')) {
    return false;
  }
  for (const char c : key) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '_') {
      return false;
    }
  }
  return true;
}

struct Container {
  std::string path;
  bool is_array = false;
  std::size_t next_index = 0;
  std::string current_key;
  std::set<std::string, std::less<>> keys;
};

}  // namespace

std::string member_path(const std::string& path, std::string_view key) {
  if (is_identifier(key)) {
    return path + "." + std::string(key);
  }
  return path + "[" + nlohmann::json(std::string(key)).dump(-1, ' ', true) + "]";
}

std::string element_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

nlohmann::ordered_json parse_json_text(std::string_view text) {
  std::vector<Container> open;
  const auto path_of_next_value = [&open]() -> std::string {
    if (open.empty()) {
      return "$";
    }
    const auto& parent = open.back();
    return parent.is_array ? element_path(parent.path, parent.next_index)
                           : member_path(parent.path, parent.current_key);
  };
  const auto value_done = [&open] {
    if (!open.empty() && open.back().is_array) {
      ++open.back().next_index;
    }
  };
  using Event = nlohmann::ordered_json::parse_event_t;
  const auto track = [&](int /*depth*/, Event event, nlohmann::ordered_json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        open.push_back(Container{path_of_next_value(), event == Event::array_start, 0, {}, {}});
        break;
      case Event::key: {
        auto& object = open.back();
        object.current_key = parsed.get<std::string>();
        if (!object.keys.insert(object.current_key).second) {
          throw PolicyError(member_path(object.path, object.current_key),
                            "this key appears twice in one object");
        }
        break;
      }
      case Event::object_end:
      case Event::array_end:
        open.pop_back();
        value_done();
        break;
      case Event::value:
        value_done();
        break;
    }
    return true;
  };
  try {
    return nlohmann::ordered_json::parse(text.begin(), text.end(), track);
  } catch (const nlohmann::json::parse_error& error) {
    throw PolicyError("$", "the text is not valid JSON (syntax error at byte " +
                               std::to_string(error.byte) + ")");
  }
}

}  // namespace estfleet::policy::detail
