// bench/machine.hpp: the facts about this machine that the benchmarks need: the CPU clock (for
// cycles per element) and the size of the last-level cache (to know which sizes run cold).
#pragma once

#include <cstddef>
#include <string>

namespace softlab::bench {

struct machine_facts {
  /// The clock cycles are counted in, MHz; 0 when unknown (then no cycles_per_element counter).
  double cpu_mhz = 0;
  std::string cpu_mhz_source;  ///< where cpu_mhz was read, for the JSON context
  std::size_t llc_bytes = 0;   ///< size of the last-level cache
  std::string llc_source;      ///< where llc_bytes was read, or that it is the fallback
};

/// Read once, on first call:
///  - the clock: cpu0's cpufreq cpuinfo_max_freq (the highest clock the kernel reports, the one
///    a single busy thread tends to run at) when the kernel exposes it, else the first "cpu MHz"
///    of /proc/cpuinfo (cpu0's clock at that moment: under a hypervisor, the host's nominal
///    clock), else unknown;
///  - the last-level cache: the highest-level data or unified cache of cpu0 in
///    /sys/devices/system/cpu/cpu0/cache/index*/, else 32 MiB.
const machine_facts& this_machine();

}  // namespace softlab::bench
