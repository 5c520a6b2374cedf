#include "policy/json_path.hpp"

#include <set>
#include <vector>

#include "policy/policy_error.hpp"
#include "policy/strict_json.hpp"

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

// One open object or array. Only its own key or index is kept, never the path to it: a path per
// level would cost O(depth^2) memory on deeply nested text. Paths are built when an error needs
// one.
struct Container {
  bool is_array = false;
  std::size_t next_index = 0;
  std::string current_key;
  std::set<std::string, std::less<>> keys;
};

// The path reached by following the current key or index of the `levels` outermost containers:
// open.size() levels give the value being read, open.size() - 1 the innermost container itself.
std::string path_at(const std::vector<Container>& open, std::size_t levels) {
  std::string path = "$";
  for (std::size_t level = 0; level < levels; ++level) {
    path = open[level].is_array ? element_path(path, open[level].next_index)
                                : member_path(path, open[level].current_key);
  }
  return path;
}

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

}  // namespace estfleet::policy::detail

namespace estfleet::policy {

nlohmann::ordered_json parse_strict_json(std::string_view text) {
  using detail::Container;
  using detail::path_at;
  std::vector<Container> open;
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
        if (open.size() == kMaxJsonDepth) {
          throw PolicyError(path_at(open, open.size()),
                            "objects and arrays are nested deeper than " +
                                std::to_string(kMaxJsonDepth) + " levels here");
        }
        open.push_back(Container{event == Event::array_start, 0, {}, {}});
        break;
      case Event::key: {
        auto& object = open.back();
        object.current_key = parsed.get<std::string>();
        if (!object.keys.insert(object.current_key).second) {
          throw PolicyError(path_at(open, open.size()), "this key appears twice in one object");
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
  } catch (const nlohmann::json::out_of_range&) {
    // 406: a number no double holds, such as 1E400 (found by fuzz_fleet_config).
    throw PolicyError("$", "the text holds a number too large to represent");
  }
}

}  // namespace estfleet::policy
