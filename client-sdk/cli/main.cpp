// tender — the tenderhall command line. Everything lives in tender::cli so tests can drive it.
#include <tender/cli/cli.hpp>

#include <iostream>

int main(int argc, char** argv) {
  return tender::cli::run(argc, argv, std::cout, std::cerr);
}
