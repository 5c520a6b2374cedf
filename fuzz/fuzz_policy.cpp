// The policy layer's parsers and evaluator: the input is read both as an AWS IoT policy document
// and as a device's IoTDetails JSON. What parses is serialised and parsed again (the stored form
// must read back to the same text), checked against the default template, turned into a document
// and evaluated. The same bytes also drive the glob matcher and variable substitution. Refusals
// are PolicyError; anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/document.hpp"
#include "policy/evaluator.hpp"
#include "policy/iot_details.hpp"
#include "policy/policy_error.hpp"
#include "policy/policy_template.hpp"

using namespace estfleet::policy;

namespace {

void evaluate_samples(const PolicyDocument& document, const std::string& thing) {
  for (const Request& request :
       {Request{Action::connect, "client/" + thing, thing},
        Request{Action::publish, "topic/sensors/" + thing + "/t", thing},
        Request{Action::receive, "topic/commands/" + thing, thing},
        Request{Action::subscribe, "topicfilter/commands/" + thing + "/#", thing},
        Request{Action::publish, "topic/sensors/other/t", thing}}) {
    (void)evaluate(document, request);
  }
}

// The same text must come back from a document read from its own text.
void check_round_trip(const std::string& text, const char* what) {
  if (to_json_text(parse_policy_document(text)) != text) {
    std::fprintf(stderr, "%s: the stored text does not read back to itself\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const PolicyTemplate policy_template = default_template();
  try {
    const auto document = parse_policy_document(input);
    const std::string text = to_json_text(document);
    check_round_trip(text, "policy document");
    evaluate_samples(document, "DeviceAlpha");
  } catch (const PolicyError&) {
  }
  try {
    const auto details = parse_iot_details_text(input);
    (void)to_json_text(details);
    (void)check_against_template(details, policy_template);
    const auto document = build_policy_document(details);
    check_round_trip(to_json_text(document), "document built from IoT details");
    evaluate_samples(document, details.thing_name);
  } catch (const PolicyError&) {
  }
  // Pattern and text: split at the first newline.
  const auto cut = input.find('\n');
  const std::string_view pattern = input.substr(0, cut);
  const std::string_view text = cut == std::string_view::npos ? "" : input.substr(cut + 1);
  (void)glob_match(pattern, text);
  (void)substitute_variables(pattern, text.substr(0, 128));
  (void)template_pattern_problem(pattern);
  return 0;
}
