// The table of the hall steps that are one act each (cmd_hall_steps.hpp): options and help texts.

#include "cmd_hall_steps.hpp"

namespace tender::cli {

#define HALL_HEAD(cmd, line) \
  "tender hall " cmd " — " line "\n\nUsage:\n  tender [--server URL] hall " cmd

const std::vector<simple_action>& simple_actions() {
  static const std::vector<simple_action> all = {
      {"hall check-guarantees",
       "check_guarantees",
       "host: check every bid's guarantee with its issuer (after the deadline)",
       HALL_HEAD("check-guarantees", "host: check the guarantees of the sealed bids") R"( --tender T

After the deadline (phase sealed) the host asks every guarantee's issuer for its live status.
Bids whose lot requires a bond and whose guarantee is not valid (and no cash bond) are not
listed. May be repeated; prints how many bids of each lot have each guarantee status, not
whose: who bid stays secret until the list is published (hall-protocol.md §2.1).

Example:
  tender hall check-guarantees --tender t-0123456789abcdef
)",
       {}},
      {"hall publish-list",
       "publish_list",
       "host: publish the bidder list (or declare 流标)",
       HALL_HEAD("publish-list", "host: publish the list of valid bids") R"( --tender T

Publishes the bidder list of every lot (phase sealed → listed): from now on the public can watch.
With fewer valid bids than the rule pack's min_bids in every lot the tender fails (流标) instead:
the hall and the tender go to `failed`, and the answer says "failed": true.

Example:
  tender hall publish-list --tender t-0123456789abcdef
)",
       {}},
      {"hall open-window",
       "open_window",
       "host: open the decryption window",
       HALL_HEAD("open-window", "host: open the decryption window") R"( --tender T

At or after the opening time (phase listed) opens the decryption window; its length comes from
the rule pack. Bidders then decrypt their bids; the window closes by the database clock.

Example:
  tender hall open-window --tender t-0123456789abcdef
)",
       {}},
      {"hall extend",
       "extend_window",
       "host: extend the decryption window, with a reason",
       HALL_HEAD("extend", "host: extend the decryption window")
           R"( --tender T --seconds N --reason TEXT

Moves the window's end later by N seconds (1..3600), for instance after a platform outage. The
reason is published in the hall and in the opening record.

Example:
  tender hall extend --tender t-0123456789abcdef --seconds 600 --reason "platform outage 10:02-10:07"
)",
       {{"seconds", nullptr, param::integer, true, "how much longer (1..3600)"},
        {"reason", nullptr, param::text, true, "why (published)"}}},
      {"hall draw",
       "draw",
       "host: run the parameter draw",
       HALL_HEAD("draw", "host: run the draw")
           R"( --tender T

In phase drawing (after reveal-host and the representative's reveal, or after the reveal timeout)
draws each lot's discount parameter from its declared candidates. Anyone can recompute the draw
from the event with `tender verify-draw`.

Example:
  tender hall draw --tender t-0123456789abcdef
)",
       {}},
      {"hall announce",
       "announce",
       "host: announce the results (唱标)",
       HALL_HEAD("announce", "host: announce the opened bids (唱标)") R"( --tender T

Publishes every lot's rows (bidder, status, opened summary or failure cause) and the record
digest bidders confirm; the confirmation window starts.

Example:
  tender hall announce --tender t-0123456789abcdef
)",
       {}},
      {"hall finish",
       "finish",
       "host: close confirmations and publish the signed opening record",
       HALL_HEAD("finish", "host: publish the opening record") R"( --tender T

After the confirmation window (or once every listed bidder confirmed) builds, signs and publishes
the opening record (开标记录); the tender becomes `opened`. Silent bidders are recorded as such.

Example:
  tender hall finish --tender t-0123456789abcdef
)",
       {}},
      {"hall answer",
       "answer",
       "host: answer an objection",
       HALL_HEAD("answer", "host: answer a bidder's objection")
           R"( --tender T --objection ID --text TEXT

Example:
  tender hall answer --tender t-0123456789abcdef --objection obj-3 --text "The window was extended."
)",
       {{"objection", "objection_id", param::text, true, "the objection's id"},
        {"text", nullptr, param::text, true, "the answer (1..2000 characters)"}}},
      {"hall pause",
       "pause",
       "host: pause the hall, with a reason",
       HALL_HEAD("pause", "host: pause the hall") R"( --tender T --reason TEXT

While paused no step except objections, answers, resume and the supervisor's suspend is accepted.
Clocks keep running: extend the window afterwards if needed.

Example:
  tender hall pause --tender t-0123456789abcdef --reason "checking a complaint"
)",
       {{"reason", nullptr, param::text, true, "why (published)"}}},
      {"hall resume",
       "resume",
       "host: resume a paused hall",
       HALL_HEAD("resume", "host: resume the hall") R"( --tender T --reason TEXT

Example:
  tender hall resume --tender t-0123456789abcdef --reason "complaint checked"
)",
       {{"reason", nullptr, param::text, true, "why (published)"}}},
      {"hall suspend",
       "suspend",
       "supervisor: suspend the hall, with a reason",
       HALL_HEAD("suspend", "supervisor: suspend the opening") R"( --tender T --reason TEXT

A supervisor stops every step (except objections and answers) until unsuspend.

Example:
  tender hall suspend --tender t-0123456789abcdef --reason "irregularity reported"
)",
       {{"reason", nullptr, param::text, true, "why (published)"}}},
      {"hall unsuspend",
       "unsuspend",
       "supervisor: lift a suspension",
       HALL_HEAD("unsuspend", "supervisor: lift the suspension") R"( --tender T --reason TEXT

Example:
  tender hall unsuspend --tender t-0123456789abcdef --reason "checked, no irregularity"
)",
       {{"reason", nullptr, param::text, true, "why (published)"}}},
      {"hall object",
       "object",
       "bidder: raise an objection (异议)",
       HALL_HEAD("object", "bidder: raise an objection") R"( --tender T --text TEXT [--lot N]

From the list's publication until the record, a bidder may object; the host answers in the hall.
Both are in the opening record.

Example:
  tender hall object --tender t-0123456789abcdef --lot 1 --text "Our bid was decrypted but shows failed."
)",
       {{"text", nullptr, param::text, true, "the objection (1..2000 characters)"},
        {"lot", nullptr, param::integer, false, "the lot it is about"}}},
      {"hall help",
       "help",
       "bidder: ask the host for help during decryption",
       HALL_HEAD("help", "bidder: ask for help") R"( --tender T --lot N --text TEXT

During the window (and after it) a bidder can ask the host for help; only staff and the asking
organisation see the request.

Example:
  tender hall help --tender t-0123456789abcdef --lot 1 --text "Our key file is on another machine."
)",
       {{"lot", nullptr, param::integer, true, "the lot"},
        {"text", nullptr, param::text, true, "the request (1..500 characters)"}}},
  };
  return all;
}

#undef HALL_HEAD

}  // namespace tender::cli
