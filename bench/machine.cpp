// bench/machine.cpp: the CPU clock and the last-level cache size, read from Linux's sysfs and
// procfs.
#include "machine.hpp"

#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace softlab::bench {
namespace {

std::optional<std::string> first_line_of(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  return line;
}

/// "32768K", "512K", "32M" (sysfs cache sizes) in bytes; nullopt if unparsable.
std::optional<std::size_t> parse_cache_size(const std::string& text) {
  std::istringstream in(text);
  std::size_t value = 0;
  char unit = '\0';
  if (!(in >> value)) return std::nullopt;
  in >> unit;
  switch (unit) {
    case '\0':
      return value;
    case 'K':
      return value << 10;
    case 'M':
      return value << 20;
    case 'G':
      return value << 30;
  }
  return std::nullopt;
}

void read_clock(machine_facts& facts) {
  const std::string max_freq = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq";
  if (const auto khz = first_line_of(max_freq)) {
    try {
      facts.cpu_mhz = std::stod(*khz) / 1000;
      facts.cpu_mhz_source = max_freq;
      return;
    } catch (const std::exception&) {
      // unparsable: fall through to /proc/cpuinfo
    }
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    try {
      facts.cpu_mhz = std::stod(line.substr(colon + 1));
      facts.cpu_mhz_source = "/proc/cpuinfo cpu MHz (cpu0, at start-up)";
    } catch (const std::exception&) {
      facts.cpu_mhz = 0;
    }
    break;
  }
  if (facts.cpu_mhz <= 0) {
    facts.cpu_mhz = 0;
    facts.cpu_mhz_source = "unknown: no cpufreq, no cpu MHz in /proc/cpuinfo";
  }
}

void read_last_level_cache(machine_facts& facts) {
  int best_level = 0;
  for (int index = 0;; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const auto level = first_line_of(dir + "/level");
    if (!level) break;
    const auto type = first_line_of(dir + "/type");
    const auto size = first_line_of(dir + "/size");
    if (!type || *type == "Instruction" || !size) continue;
    const auto bytes = parse_cache_size(*size);
    const int this_level = std::atoi(level->c_str());
    if (bytes && this_level > best_level) {
      best_level = this_level;
      facts.llc_bytes = *bytes;
      facts.llc_source = dir + "/size (L" + *level + ")";
    }
  }
  if (best_level == 0) {
    facts.llc_bytes = std::size_t{32} << 20;
    facts.llc_source = "fallback 32 MiB (no cache sizes in /sys/devices/system/cpu/cpu0/cache)";
  }
}

}  // namespace

const machine_facts& this_machine() {
  static const machine_facts facts = [] {
    machine_facts read;
    read_clock(read);
    read_last_level_cache(read);
    return read;
  }();
  return facts;
}

}  // namespace softlab::bench
