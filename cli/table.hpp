// cli/table.hpp: plain-text tables with aligned columns.
#pragma once

#include <string>
#include <vector>

namespace softlab::cli {

/// Rows of cells (the first row is usually the header), each column padded to its widest cell
/// and separated by two spaces; no trailing blanks. Width counts bytes (the cells are ASCII).
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace softlab::cli
