// cpu_quota.hpp: the CPU quota of a cgroup, read from the cgroup filesystem (internal: the
// tests call these on directory trees they make).
//
// A quota lets a cgroup run `quota` microseconds of CPU time every `period` microseconds,
// spread over any number of CPUs: ceil(quota / period) threads busy at once already use it
// all, and more only take turns (and stall each other at the end of every period).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

namespace softlab::detail {

/// A cgroup v2 cpu.max file, "quota period" ("max period" or malformed: no quota).
std::optional<std::size_t> cpus_of_cpu_max(std::string_view text);

/// cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us ("-1" or malformed: no quota).
std::optional<std::size_t> cpus_of_cfs_quota(std::string_view quota, std::string_view period);

/// The smallest CPU quota of the cgroup that /proc/self/cgroup (its text: `self_cgroup`) puts
/// this process in and of every ancestor up to `root` (the cgroup filesystem's mount point,
/// /sys/fs/cgroup): a parent's quota binds its children too. cgroup v2 ("0::/path") reads
/// root/path/cpu.max; cgroup v1 (a line whose controllers include cpu) reads
/// root/cpu,cpuacct/path (or root/cpu/path) cpu.cfs_quota_us and cpu.cfs_period_us. When the
/// path is not under root (a cgroup namespace shows "/", or a container mounts only its own
/// cgroup), the mount point's own files are read. Empty when no quota applies.
std::optional<std::size_t> cgroup_cpu_limit(std::string_view self_cgroup,
                                            const std::filesystem::path& root);

}  // namespace softlab::detail
