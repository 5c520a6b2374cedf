// The table admin commands print by default: a header row and left-aligned columns two spaces
// apart, so `column`-less shells and eyes both read it.
#pragma once

#include <string>
#include <vector>

namespace estfleet::server {

using TableRow = std::vector<std::string>;

// Every row has the header's number of cells. Lines end with '\n', without trailing blanks.
std::string render_table(const TableRow& header, const std::vector<TableRow>& rows);

}  // namespace estfleet::server
