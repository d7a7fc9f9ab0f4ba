#pragma once

namespace tender::app {

// The whole of tenderd's main(): parses the command line, loads the configuration, runs the
// server until SIGINT/SIGTERM and returns the process exit code.
int tenderd_main(int argc, char** argv);

}  // namespace tender::app
