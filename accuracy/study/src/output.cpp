// output.cpp: the CSV, the JSON, their metadata, and the atomic writer.
#include <softlab_accuracy/output.hpp>

#include <gmp.h>
#include <mpfr.h>
#include <unistd.h>
#include <boost/version.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <set>
#include <system_error>

#ifndef SOFTLAB_BUILD_TYPE
#define SOFTLAB_BUILD_TYPE "unknown"
#endif
#ifndef SOFTLAB_BUILD_FLAGS
#define SOFTLAB_BUILD_FLAGS "unknown"
#endif
#ifndef SOFTLAB_COMPILER
#define SOFTLAB_COMPILER "unknown"
#endif
#ifndef SOFTLAB_XSIMD_VERSION
#define SOFTLAB_XSIMD_VERSION "unknown"
#endif
#ifndef SOFTLAB_PROJECT_VERSION
#define SOFTLAB_PROJECT_VERSION "unknown"
#endif

namespace softlab::accuracy {

namespace {

std::string error_text(int code) { return std::generic_category().message(code); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (const char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string optional_metric(const std::optional<double>& value) {
  return value ? format_metric(*value) : "unsupported";
}

/// True for text that is a JSON number (what format_metric and std::to_string print).
bool is_json_number(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;
  }
  return true;
}

/// Columns whose values are text even when they look like numbers.
bool is_text_column(std::string_view column) {
  return column == "implementation" || column == "origin" || column == "type" || column == "isa" ||
         column == "family" || column == "worst_x" || column == "worst_y" ||
         column == "worst_exact" || column == "family_kind" || column == "family_sizes" ||
         column == "type_ieee_storage";
}

std::string json_value(std::string_view column, const std::string& text) {
  return json_value_of(text, is_text_column(column));
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

std::string host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string model = line.substr(colon + 1);
        model.erase(0, model.find_first_not_of(" \t"));
        return model;
      }
    }
  return "unknown";
}

}  // namespace

std::string seconds_text(double s) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", s);
  return buffer;
}

std::string json_value_of(const std::string& text, bool text_column) {
  if (!text_column && is_json_number(text)) return text;
  return json_string(text);
}

std::string json_array(const std::vector<std::string>& items) {
  std::string result = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    result += concat(i > 0 ? ", " : "", json_string(items[i]));
  return result + "]";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string text;
  for (std::size_t c = 0; c < fields.size(); ++c)
    text += concat(c > 0 ? "," : "", csv_field(fields[c]));
  return text + '\n';
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  auto fail = [&](int code, const char* what) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw write_error(concat("cannot write ", path.string(), ": ", what, ": ", error_text(code)));
  };
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) fail(errno, concat("cannot create ", temporary.string()).c_str());
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  int code = errno;
  const bool flushed = written && std::fflush(file) == 0;
  if (written && !flushed) code = errno;
  const bool closed = std::fclose(file) == 0;
  if (written && flushed && !closed) code = errno;
  if (!written || !flushed || !closed) fail(code, "writing failed");
  std::error_code renamed;
  std::filesystem::rename(temporary, path, renamed);
  if (renamed) fail(renamed.value(), concat("cannot rename ", temporary.string()).c_str());
}

void ensure_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec)
    throw write_error(concat("cannot create directory ", directory.string(), ": ", ec.message()));
  if (!std::filesystem::is_directory(directory, ec))
    throw write_error(concat("cannot write to ", directory.string(), ": not a directory"));
}

std::string json_string(std::string_view s) {
  std::string result = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        result += "\\\"";
        break;
      case '\\':
        result += "\\\\";
        break;
      case '\n':
        result += "\\n";
        break;
      case '\r':
        result += "\\r";
        break;
      case '\t':
        result += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
          result += escape;
        } else {
          result += c;
        }
    }
  }
  return result + '"';
}

std::vector<std::string> row_fields(const cell_row& row) {
  const cell_metrics& m = row.metrics;
  return {row.implementation,
          row.origin,
          row.type,
          row.isa,
          row.family,
          std::to_string(row.n),
          std::to_string(row.vectors),
          std::to_string(row.seed),
          format_metric(m.max_ulp),
          format_metric(m.mean_ulp),
          format_metric(m.max_ulp_normal),
          format_metric(m.mean_ulp_normal),
          format_metric(m.max_rel_error),
          format_metric(m.normwise_error),
          format_metric(m.max_sum_error),
          format_metric(m.max_error_over_u_kappa),
          std::to_string(m.nan_count),
          std::to_string(m.inf_count),
          std::to_string(m.wrong_zero_count),
          std::to_string(m.wrong_nonzero_count),
          std::to_string(m.not_correctly_rounded_count),
          format_metric(m.argmax_preserved),
          std::to_string(m.worst_index),
          m.worst_x,
          m.worst_y,
          m.worst_exact,
          format_metric(m.stated_bound_at_worst),
          format_metric(m.max_observed_over_stated),
          optional_metric(m.log_softmax_error),
          optional_metric(m.logsumexp_error),
          row.family_kind,
          row.family_sizes,
          std::to_string(row.type_precision_bits),
          row.type_ieee_storage ? "true" : "false",
          seconds_text(m.seconds)};
}

std::string study_csv(const study_result& result) {
  std::string text;
  for (std::size_t c = 0; c < csv_columns.size(); ++c)
    text += concat(c > 0 ? "," : "", csv_columns[c]);
  text += '\n';
  for (const cell_row& row : result.cells) {
    if (!row.metrics.error.empty()) continue;  // listed in the JSON's "errors"
    text += csv_line(row_fields(row));
  }
  return text;
}

std::string elements_csv(const study_result& result) {
  std::string text = "implementation,type,isa,family,distance_below_max,ulp,kappa\n";
  for (const element_sample& e : result.element_samples)
    text += concat(csv_field(e.implementation), ",", e.type, ",", e.isa, ",", e.family, ",",
                   format_metric(e.distance_below_max), ",", format_metric(e.ulp), ",",
                   format_metric(e.kappa), "\n");
  return text;
}

run_meta common_meta(unsigned threads) {
  run_meta meta;
  auto add = [&](std::string key, std::string value) {
    meta.entries.emplace_back(std::move(key), std::move(value));
  };
  add("date", utc_now());
  add("hostname", host_name());
  add("cpu", cpu_model());
  add("threads", std::to_string(threads));
  add("softlab_version", SOFTLAB_PROJECT_VERSION);
  add("compiler", concat(SOFTLAB_COMPILER, " (__VERSION__ ", __VERSION__, ")"));
  add("build_type", SOFTLAB_BUILD_TYPE);
  add("build_flags", SOFTLAB_BUILD_FLAGS);
  add("boost",
      concat(std::to_string(BOOST_VERSION / 100000), ".",
             std::to_string(BOOST_VERSION / 100 % 1000), ".", std::to_string(BOOST_VERSION % 100)));
  add("mpfr", mpfr_get_version());
  add("gmp", gmp_version);
  add("xsimd", SOFTLAB_XSIMD_VERSION);
  return meta;
}

run_meta collect_meta(const registry& reg, const study_options& options, const study_result& result,
                      std::string_view command_line) {
  run_meta meta = common_meta(result.threads);
  auto add = [&](std::string key, std::string value) {
    meta.entries.emplace_back(std::move(key), std::move(value));
  };
  std::set<std::string> origins;
  std::string peers;
  for_each_type(element_types{}, [&]<class T>() {
    for (const kernel<T>& k : reg.kernels<T>())
      if (k.origin != "softlab" && origins.insert(std::string(k.origin)).second)
        peers += concat(peers.empty() ? "" : "; ", k.facts.name, ": ", k.origin);
  });
  add("peers", peers.empty() ? "none" : peers);
  add_run_facts(meta, {.seed = options.seed,
                       .seed_rule = "vector v of cell (family, n) is drawn from family_seed(seed, "
                                    "family, n, v) (softlab_accuracy/families.hpp); the CSV's "
                                    "seed column is v = 0",
                       .full = options.full,
                       .command_line = command_line,
                       .reference = "MPFR at 2p + 64 bits (p: the type's precision), computed "
                                    "once per vector",
                       .reference_seconds = result.reference_seconds,
                       .elapsed_seconds = result.elapsed_seconds});
  return meta;
}

void add_run_facts(run_meta& meta, const run_facts& facts) {
  auto add = [&](std::string key, std::string value) {
    meta.entries.emplace_back(std::move(key), std::move(value));
  };
  add("seed", std::to_string(facts.seed));
  add("seed_rule", facts.seed_rule);
  add("full", facts.full ? "true" : "false");
  add("command_line", std::string(facts.command_line));
  add("reference", facts.reference);
  add("reference_seconds", seconds_text(facts.reference_seconds));
  meta.elapsed_seconds = facts.elapsed_seconds;
}

void record_warning(std::vector<std::string>& into, std::string message, std::ostream& progress) {
  into.push_back(std::move(message));
  progress << "softlab accuracy: warning: " << into.back() << '\n';
}

std::string json_opening(const run_meta& meta, const std::vector<std::string>& notes,
                         const std::vector<std::string>& errors) {
  std::string j = "{\n  \"meta\": {\n";
  for (const auto& [key, value] : meta.entries)
    j += concat("    ", json_string(key), ": ", json_string(value), ",\n");
  j += concat("    \"elapsed_seconds\": ", seconds_text(meta.elapsed_seconds), "\n  },\n");
  j += concat("  \"notes\": ", json_array(notes), ",\n");
  j += concat("  \"errors\": ", json_array(errors), ",\n");
  return j;
}

std::string study_json(const study_result& result, const run_meta& meta) {
  std::string j = json_opening(meta, result.notes, result.errors);

  j += "  \"families\": [";
  for (std::size_t i = 0; i < result.families.size(); ++i) {
    const family_spec& f = result.families[i];
    j += concat(i > 0 ? "," : "", "\n    {\"name\": ", json_string(f.name),
                ", \"reason\": ", json_string(f.reason), ", \"origin\": ",
                json_string(f.shared ? "softlab_reference/families.hpp" : "softlab_accuracy"),
                ", \"kind\": ", json_string(reference::kind_name(f.kind)),
                ", \"sizes\": ", json_string(size_class_name(f.sizes)), "}");
  }
  j += "\n  ],\n";

  // Every type the tool knows, with what a report compares by: p and the storage.
  j += "  \"types\": [";
  bool first_type = true;
  for_each_type(element_types{}, [&]<class T>() {
    j += concat(first_type ? "\n" : ",\n", "    {\"name\": ", json_string(type_token_v<T>),
                ", \"precision_bits\": ", std::to_string(std::numeric_limits<T>::digits),
                ", \"ieee_storage\": ", detail::is_plain_ieee_storage<T>() ? "true" : "false",
                ", \"storage_bits\": ",
                std::to_string(detail::is_plain_ieee_storage<T>() ? sizeof(T) * CHAR_BIT : 0), "}");
    first_type = false;
  });
  j += "\n  ],\n";

  j += "  \"cells\": [";
  bool first = true;
  for (const cell_row& row : result.cells) {
    if (!row.metrics.error.empty()) continue;
    const std::vector<std::string> fields = row_fields(row);
    j += first ? "\n    {" : ",\n    {";
    first = false;
    for (std::size_t c = 0; c < fields.size(); ++c)
      j += concat(c > 0 ? ", " : "", json_string(csv_columns[c]), ": ",
                  json_value(csv_columns[c], fields[c]));
    j += "}";
  }
  j += "\n  ],\n";

  j += "  \"special_values\": [";
  for (std::size_t i = 0; i < result.special_values.size(); ++i) {
    const special_value_row& s = result.special_values[i];
    j += concat(i > 0 ? "," : "", "\n    {\"type\": ", json_string(s.type),
                ", \"implementation\": ", json_string(s.implementation),
                ", \"isa\": ", json_string(s.isa), ", \"input\": ", json_string(s.input));
    j += concat(",\n     \"x\": ", json_array(s.x), ", \"expected\": ", json_array(s.expected),
                ", \"softmax\": ",
                s.error.empty() ? json_array(s.softmax) : json_string(concat("error: ", s.error)));
    j += concat(",\n     \"expected_log_softmax\": ", json_array(s.expected_log_softmax),
                ", \"log_softmax\": ",
                s.log_softmax.empty() ? json_string("unsupported") : json_array(s.log_softmax));
    j += concat(",\n     \"expected_logsumexp\": ", json_string(s.expected_logsumexp),
                ", \"logsumexp\": ", json_string(s.logsumexp), "}");
  }
  j += "\n  ]\n}\n";
  return j;
}

}  // namespace softlab::accuracy
