#include "common/multipart.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <random>

namespace estfleet::common {
namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// RFC 2046 §5.1.1 bchars.
bool is_bchar(char c) {
  constexpr std::string_view kOthers = "'()+_,-./:=? ";
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         kOthers.find(c) != std::string_view::npos;
}

// One line of `text` from `pos`: the line without its CR/LF, and where the next one starts.
struct Line {
  std::string_view text;
  std::size_t next;
};
Line line_at(std::string_view text, std::size_t pos) {
  const auto end = text.find('\n', pos);
  if (end == std::string_view::npos) {
    auto line = text.substr(pos);
    return {line, text.size()};
  }
  auto line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return {line, end + 1};
}

// Whether `line` is the delimiter "--boundary" (closing: "--boundary--"), padding allowed.
enum class Delimiter { none, part, close };
Delimiter delimiter_kind(std::string_view line, std::string_view dash_boundary) {
  if (!line.starts_with(dash_boundary)) {
    return Delimiter::none;
  }
  line.remove_prefix(dash_boundary.size());
  Delimiter kind = Delimiter::part;
  if (line.starts_with("--")) {
    kind = Delimiter::close;
    line.remove_prefix(2);
  }
  return trim(line).empty() ? kind : Delimiter::none;
}

MimePart parse_part(std::string_view text) {
  MimePart part;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto line = line_at(text, pos);
    pos = line.next;
    if (line.text.empty()) {
      part.body = std::string(text.substr(pos));
      return part;
    }
    if ((line.text.front() == ' ' || line.text.front() == '\t') && !part.headers.empty()) {
      // Two appends, not `" " + std::string(...)`: GCC 12 -O3 reports a false -Wrestrict there.
      part.headers.back().second.push_back(' ');
      part.headers.back().second.append(trim(line.text));
      continue;
    }
    const auto colon = line.text.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw MultipartError("a body part's header line '" + std::string(line.text.substr(0, 80)) +
                           "' has no name and colon");
    }
    part.headers.emplace_back(std::string(trim(line.text.substr(0, colon))),
                              std::string(trim(line.text.substr(colon + 1))));
  }
  return part;  // headers only, no body
}

}  // namespace

std::optional<std::string> MimePart::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::string build_multipart(const std::vector<MimePart>& parts, std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ' ||
      !std::all_of(boundary.begin(), boundary.end(), is_bchar)) {
    throw MultipartError("the boundary '" + std::string(boundary) +
                         "' is not 1 to 70 characters of RFC 2046's boundary alphabet");
  }
  const std::string dash_boundary = "--" + std::string(boundary);
  std::string body;
  for (const auto& part : parts) {
    if (part.body.find(dash_boundary) != std::string::npos) {
      throw MultipartError("a body part contains the boundary '" + std::string(boundary) + "'");
    }
    body += dash_boundary + "\r\n";
    for (const auto& [name, value] : part.headers) {
      body += name + ": " + value + "\r\n";
    }
    body += "\r\n" + part.body + "\r\n";
  }
  body += dash_boundary + "--\r\n";
  return body;
}

std::string random_boundary() {
  std::random_device random;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string boundary = "est-fleet-";
  for (int i = 0; i < 32; ++i) {
    boundary += kHex[random() % 16];
  }
  return boundary;
}

std::string media_type(std::string_view content_type) {
  std::string type(trim(content_type.substr(0, content_type.find(';'))));
  std::transform(type.begin(), type.end(), type.begin(), lower);
  return type;
}

std::optional<std::string> media_parameter(std::string_view content_type, std::string_view name) {
  std::size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = content_type.substr(pos + 1);
    const auto equals = rest.find('=');
    if (equals == std::string_view::npos) {
      return std::nullopt;
    }
    const auto key = trim(rest.substr(0, equals));
    rest.remove_prefix(equals + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
      rest.remove_prefix(1);
    }
    std::string value;
    std::size_t consumed = 0;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          ++i;
        }
        value += rest[i];
      }
      consumed = i + 1;
    } else {
      const auto end = rest.find(';');
      value = std::string(trim(rest.substr(0, end)));
      consumed = end == std::string_view::npos ? rest.size() : end;
    }
    if (same_name(key, name)) {
      return value;
    }
    const auto offset = static_cast<std::size_t>(rest.data() - content_type.data()) + consumed;
    pos = offset >= content_type.size() ? std::string_view::npos : content_type.find(';', offset);
  }
  return std::nullopt;
}

std::optional<std::string> boundary_parameter(std::string_view content_type) {
  auto boundary = media_parameter(content_type, "boundary");
  if (!boundary || boundary->empty()) {
    return std::nullopt;
  }
  return boundary;
}

std::vector<MimePart> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string dash_boundary = "--" + std::string(boundary);
  std::vector<MimePart> parts;
  std::size_t pos = 0;
  std::optional<std::size_t> part_start;
  while (pos < body.size()) {
    const std::size_t line_start = pos;
    const auto line = line_at(body, pos);
    pos = line.next;
    const auto kind = delimiter_kind(line.text, dash_boundary);
    if (kind == Delimiter::none) {
      continue;
    }
    if (part_start) {
      // The CRLF (or LF) before the delimiter belongs to the delimiter, not to the part.
      std::size_t end = line_start;
      if (end > *part_start && body[end - 1] == '\n') {
        --end;
        if (end > *part_start && body[end - 1] == '\r') {
          --end;
        }
      }
      parts.push_back(parse_part(body.substr(*part_start, end - *part_start)));
    }
    if (kind == Delimiter::close) {
      return parts;
    }
    part_start = pos;
  }
  if (!part_start) {
    throw MultipartError("the body holds no line '" + dash_boundary +
                         "': it is not multipart with that boundary");
  }
  throw MultipartError("the multipart body ends without its closing line '" + dash_boundary +
                       "--'");
}

}  // namespace estfleet::common
