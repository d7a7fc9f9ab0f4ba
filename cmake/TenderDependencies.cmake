# Every dependency comes from a Debian 12 package (see deploy/packages.txt); nothing is
# downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url program_options)
find_package(OpenSSL 3.0 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(pqxx REQUIRED IMPORTED_TARGET libpqxx>=6.4)
if(TENDER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
