#pragma once

#include <ostream>

namespace tender::cli {

// The whole `tender` command line: tender [global options] <command> [options].
// Returns the process exit code: 0 success, 1 failure, 2 bad usage, 3 server up but not ready.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace tender::cli
