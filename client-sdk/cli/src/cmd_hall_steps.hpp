// The host's, supervisor's and bidder's hall steps that are one act with options mapped to its
// parameters (tender hall check-guarantees, open-window, ...): their table of options and help
// texts (cmd_hall_steps.cpp). cmd_hall.cpp runs them.
#pragma once

#include <vector>

namespace tender::cli {

struct param {
  const char* option;  // command-line option, also the JSON field unless `field` is set
  const char* field;
  enum kind_t { text, integer, lot } kind;
  bool required;
  const char* help;
};

struct simple_action {
  const char* command;  // "hall open-window"
  const char* action;   // "open_window"
  const char* summary;
  const char* usage;
  std::vector<param> params;
};

// Every such step.
const std::vector<simple_action>& simple_actions();

}  // namespace tender::cli
