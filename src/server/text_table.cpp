#include "server/text_table.hpp"

#include <algorithm>

namespace estfleet::server {

std::string render_table(const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  const auto measure = [&widths](const TableRow& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  std::for_each(rows.begin(), rows.end(), measure);

  std::string text;
  const auto append = [&](const TableRow& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    text += line + '\n';
  };
  append(header);
  std::for_each(rows.begin(), rows.end(), append);
  return text;
}

}  // namespace estfleet::server
