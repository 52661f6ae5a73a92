# Every dependency is a Debian package found with find_package; nothing is downloaded.
find_package(Boost 1.74 REQUIRED)  # header-only: Multiprecision, Math constants
find_package(xsimd 8.1 REQUIRED)
# Debian's xsimd 8.1 target names an `xtl` link dependency that xsimd does not need (and
# libxtl-dev may be absent); xsimd is header-only, so clear it.
if(TARGET xsimd)
  set_property(TARGET xsimd PROPERTY INTERFACE_LINK_LIBRARIES "")
endif()
