# Build options shared by every tenderhall target. Flags are applied per target through
# tender_target_defaults(), never through global CMAKE_CXX_FLAGS, so that a dependency we build
# (for instance the Boost.Asio/Beast compilation unit) gets exactly the flags we choose.

option(TENDER_BUILD_TESTS "Build the test suite" ON)
option(TENDER_BUILD_BENCH "Build the benchmark programs under bench/" OFF)
option(TENDER_BUILD_FUZZ "Build libFuzzer targets (needs clang: CXX=clang++)" OFF)
option(TENDER_CRYPTO_ONLY "Build only protocol, crypto and their tests" OFF)
option(TENDER_WERROR "Treat warnings as errors" OFF)
set(TENDER_SANITIZE "" CACHE STRING "Sanitizers, ';'-separated: address;undefined or thread")

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
endif()

# ccache, when present. Precompiled headers need the sloppiness settings below or every PCH
# user misses the cache.
find_program(TENDER_CCACHE ccache)
if(TENDER_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${TENDER_CCACHE})
endif()

# Linking is a large share of a rebuild; gold is much faster than bfd for our test binaries.
include(CheckLinkerFlag)
check_linker_flag(CXX "-fuse-ld=gold" TENDER_HAVE_GOLD)

function(tender_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
    -Wno-missing-field-initializers)
  if(TENDER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  tender_target_sanitizers(${target})
endfunction()

# Sanitizer flags for targets that must not get our warnings (third-party compilation units).
function(tender_target_sanitizers target)
  get_target_property(kind ${target} TYPE)
  if(TENDER_SANITIZE)
    list(JOIN TENDER_SANITIZE "," san)
    if(NOT kind STREQUAL "INTERFACE_LIBRARY")
      target_compile_options(${target} PRIVATE -fsanitize=${san} -fno-omit-frame-pointer)
    endif()
    if(kind STREQUAL "EXECUTABLE" OR kind STREQUAL "SHARED_LIBRARY")
      target_link_options(${target} PRIVATE -fsanitize=${san})
    endif()
  endif()
  if(TENDER_HAVE_GOLD AND (kind STREQUAL "EXECUTABLE" OR kind STREQUAL "SHARED_LIBRARY"))
    target_link_options(${target} PRIVATE -fuse-ld=gold)
  endif()
endfunction()
