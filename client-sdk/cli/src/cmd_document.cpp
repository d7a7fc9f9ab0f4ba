// tender document upload|list|download|downloads|receipts, tender ask|answer|questions and
// tender notifications: tender documents and clarifications (docs/DOCUMENTS.md).

#include "command.hpp"
#include "io.hpp"

#include <tender/client/documents.hpp>
#include <tender/crypto/digest.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace tender::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace docs = tender::client::documents;

namespace {

constexpr const char* upload_usage =
    R"(tender document upload — upload a tender document (a new version if the name exists)

Usage:
  tender document upload TENDER FILE [--name NAME] [--idempotency-key K] [--token-file F] [--json]

Uploads FILE (at most 32 MiB) as document NAME (default: FILE's base name) of tender TENDER. The
SHA-256 is sent along and checked by the server. Uploading a name that exists makes its next
version; once the tender is published, every new version is pushed to the organisations that
downloaded the documents before. Tenderers of the owner organisation only, before the deadline.

Examples:
  tender document upload t-0123456789abcdef 招标文件.pdf
  tender document upload t-0123456789abcdef v2.pdf --name 招标文件.pdf --idempotency-key up-7
)";

constexpr const char* list_usage =
    R"(tender document list — list a tender's documents and their versions

Usage:
  tender document list TENDER [--token-file F] [--json]
)";

constexpr const char* download_usage =
    R"(tender document download — download a document version and check its SHA-256

Usage:
  tender document download TENDER DOC --out FILE [--version N] [--force] [--token-file F] [--json]

DOC is the document id shown by `tender document list`; without --version the latest version is
downloaded. The bytes are written to FILE only if their SHA-256 matches the one the server
announced (exit 1 otherwise). A bidder's download is recorded: later versions and answers are
pushed to its organisation (see tender notifications).
)";

constexpr const char* downloads_usage =
    R"(tender document downloads — who downloaded a tender's documents

Usage:
  tender document downloads TENDER [--token-file F] [--json]

The owner's tenderer sees only counts until the deadline, the list after it; supervisors always
see the list.
)";

constexpr const char* receipts_usage =
    R"(tender document receipts — read receipts of the pushes of a tender

Usage:
  tender document receipts TENDER [--token-file F] [--json]

Per push (new document version, answer): delivered and read counts; the recipients after the
deadline (supervisors: always).
)";

constexpr const char* ask_usage =
    R"(tender ask — ask a question about a published tender (bidders, before the deadline)

Usage:
  tender ask TENDER --text TEXT [--token-file F] [--json]

TEXT is at most 4000 bytes. The tenderer never learns who asked; the answer is published to
every bidder.
)";

constexpr const char* answer_usage =
    R"(tender answer — answer a question (the owner's tenderer, before the deadline)

Usage:
  tender answer TENDER QID --text TEXT [--token-file F] [--json]

The answer is published: pushed to every organisation that downloaded the documents and readable
by every bidder.
)";

constexpr const char* questions_usage =
    R"(tender questions — the questions of a tender, as your role may see them

Usage:
  tender questions TENDER [--token-file F] [--json]

Bidders see their own questions and every answered one; the tenderer sees all questions without
who asked; supervisors see everything.
)";

constexpr const char* notifications_usage =
    R"(tender notifications — your notifications (unread first), or mark one read

Usage:
  tender notifications [--read ID] [--token-file F] [--json]
)";

po::options_description common_options() {
  po::options_description opts("Options");
  opts.add_options()("token-file", po::value<std::string>(),
                     "session token file (default ~/.config/tenderhall/token)")(
      "json", po::bool_switch(), "machine-readable output");
  return opts;
}

// The saved session token (tender login).
std::string saved_token(const po::variables_map& vm) {
  const auto path = session_token_path(vm);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw error(codes::io, "no session token at " + path.string() + "; run tender login first");
  }
  return std::string(trim(read_file(path, 4096)));
}

bool as_json(const context& ctx, const po::variables_map& vm) {
  return ctx.json || vm["json"].as<bool>();
}

boost::json::value opt(const std::optional<std::string>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

boost::json::object question_json(const docs::question& q) {
  boost::json::object o{{"id", q.id},
                        {"text", q.text},
                        {"asked_at", q.asked_at},
                        {"answer", opt(q.answer)},
                        {"answered_at", opt(q.answered_at)}};
  if (q.mine) o["mine"] = *q.mine;
  if (q.asked_by) o["asked_by"] = *q.asked_by;
  if (q.asker_org) o["asker_org"] = *q.asker_org;
  return o;
}

std::int64_t positive(context&, const std::string& text, const char* what) {
  const auto v = parse_u64(text);
  if (!v || *v == 0 || *v > static_cast<std::uint64_t>(INT64_MAX)) {
    throw error(codes::bad_input,
                std::string(what) + " must be a positive whole number, got '" + text + "'");
  }
  return static_cast<std::int64_t>(*v);
}

int upload(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "file", po::value<std::string>()->required(), "file to upload")(
      "name", po::value<std::string>(), "document name (default: the file's base name)")(
      "idempotency-key", po::value<std::string>(), "retry-safe key of this upload");
  po::positional_options_description pos;
  pos.add("tender", 1).add("file", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, upload_usage, opts, pos, code);
  if (!vm) return code;
  const fs::path path = (*vm)["file"].as<std::string>();
  const std::string content = read_file(path, std::size_t{32} << 20);
  const std::string name =
      vm->count("name") != 0u ? (*vm)["name"].as<std::string>() : path.filename().string();
  const std::string key =
      vm->count("idempotency-key") != 0u ? (*vm)["idempotency-key"].as<std::string>() : "";
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto u = docs::upload(c, (*vm)["tender"].as<std::string>(), name, content, key);
  if (as_json(ctx, *vm)) {
    ctx.out << boost::json::serialize(boost::json::object{{"document_id", u.document_id},
                                                          {"tender_id", u.tender_id},
                                                          {"name", u.name},
                                                          {"version", u.version},
                                                          {"sha256", u.sha256},
                                                          {"size", u.size},
                                                          {"created_at", u.created_at}})
            << "\n";
  } else {
    ctx.out << "uploaded " << u.name << " as document " << u.document_id << " version " << u.version
            << " (" << u.size << " bytes, sha256 " << u.sha256 << ")\n";
  }
  return exit_ok;
}

int list(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, list_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto all = docs::list(c, (*vm)["tender"].as<std::string>());
  if (as_json(ctx, *vm)) {
    boost::json::array a;
    for (const auto& d : all) {
      boost::json::array versions;
      for (const auto& v : d.versions) {
        versions.push_back(boost::json::object{{"version", v.version},
                                               {"sha256", v.sha256},
                                               {"size", v.size},
                                               {"created_at", v.created_at}});
      }
      a.push_back(boost::json::object{{"document_id", d.document_id},
                                      {"name", d.name},
                                      {"latest_version", d.latest_version},
                                      {"versions", std::move(versions)}});
    }
    ctx.out << boost::json::serialize(boost::json::object{{"documents", std::move(a)}}) << "\n";
    return exit_ok;
  }
  if (all.empty()) ctx.out << "no documents\n";
  for (const auto& d : all) {
    ctx.out << d.document_id << "  " << d.name << "  (latest: version " << d.latest_version
            << ")\n";
    for (const auto& v : d.versions) {
      ctx.out << "    v" << v.version << "  " << v.size << " bytes  sha256 " << v.sha256 << "  "
              << v.created_at << "\n";
    }
  }
  return exit_ok;
}

int download(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "doc", po::value<std::string>()->required(), "document id")(
      "version", po::value<std::string>(), "version (default: the latest)")(
      "out", po::value<std::string>()->required(), "file to write")(
      "force", po::bool_switch(), "replace an existing output file");
  po::positional_options_description pos;
  pos.add("tender", 1).add("doc", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, download_usage, opts, pos, code);
  if (!vm) return code;
  const auto doc = positive(ctx, (*vm)["doc"].as<std::string>(), "DOC");
  std::optional<int> version;
  if (vm->count("version") != 0u) {
    const auto v = positive(ctx, (*vm)["version"].as<std::string>(), "--version");
    if (v > 2147483647) throw error(codes::bad_input, "--version is too large");
    version = static_cast<int>(v);
  }
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto f = docs::download(c, (*vm)["tender"].as<std::string>(), doc, version);
  const fs::path out = (*vm)["out"].as<std::string>();
  write_file(out, f.content, {(*vm)["force"].as<bool>(), false});
  if (as_json(ctx, *vm)) {
    ctx.out << boost::json::serialize(boost::json::object{{"document_id", f.document_id},
                                                          {"version", f.version},
                                                          {"sha256", f.sha256},
                                                          {"size", f.content.size()},
                                                          {"out", out.string()}})
            << "\n";
  } else {
    ctx.out << "downloaded document " << f.document_id << " version " << f.version << " to "
            << out.string() << " (" << f.content.size() << " bytes, sha256 " << f.sha256
            << " verified)\n";
  }
  return exit_ok;
}

int downloads(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, downloads_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto d = docs::downloads(c, (*vm)["tender"].as<std::string>());
  if (as_json(ctx, *vm)) {
    boost::json::object o{{"tender_id", d.tender_id},
                          {"deadline_passed", d.deadline_passed},
                          {"downloads", d.downloads},
                          {"organisations", d.organisations},
                          {"users", d.users}};
    if (d.listed) {
      boost::json::array a;
      for (const auto& e : d.list) {
        a.push_back(boost::json::object{{"document_id", e.document_id},
                                        {"version", e.version},
                                        {"user_id", e.user_id},
                                        {"org_id", e.org_id},
                                        {"downloaded_at", e.downloaded_at}});
      }
      o["list"] = std::move(a);
    }
    ctx.out << boost::json::serialize(o) << "\n";
    return exit_ok;
  }
  ctx.out << d.downloads << " downloads by " << d.users << " users of " << d.organisations
          << " organisations\n";
  if (!d.listed) ctx.out << "(the list stays confidential until the deadline)\n";
  for (const auto& e : d.list) {
    ctx.out << e.downloaded_at << "  " << e.org_id << " (" << e.org_name << ")  " << e.user_id
            << "  document " << e.document_id << " v" << e.version << "\n";
  }
  return exit_ok;
}

int receipts(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, receipts_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto r = docs::receipts(c, (*vm)["tender"].as<std::string>());
  if (as_json(ctx, *vm)) {
    boost::json::array a;
    for (const auto& p : r.pushes) {
      boost::json::object o{{"push_id", p.push_id}, {"kind", p.kind},
                            {"ref", p.ref},         {"delivered", p.delivered},
                            {"read", p.read},       {"created_at", p.created_at}};
      if (p.listed) {
        boost::json::array rs;
        for (const auto& x : p.recipients) {
          rs.push_back(boost::json::object{
              {"org_id", x.org_id}, {"user_id", x.user_id}, {"read_at", opt(x.read_at)}});
        }
        o["recipients"] = std::move(rs);
      }
      a.push_back(std::move(o));
    }
    ctx.out << boost::json::serialize(
                   boost::json::object{{"tender_id", r.tender_id}, {"pushes", std::move(a)}})
            << "\n";
    return exit_ok;
  }
  if (r.pushes.empty()) ctx.out << "no pushes\n";
  for (const auto& p : r.pushes) {
    ctx.out << "push " << p.push_id << "  " << p.kind << " " << p.ref << "  delivered "
            << p.delivered << ", read " << p.read << "\n";
    for (const auto& x : p.recipients) {
      ctx.out << "    " << x.org_id << " " << x.user_id << "  "
              << (x.read_at ? "read " + *x.read_at : std::string("unread")) << "\n";
    }
  }
  return exit_ok;
}

int ask(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "text", po::value<std::string>()->required(), "the question");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, ask_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto q = docs::ask(c, (*vm)["tender"].as<std::string>(), (*vm)["text"].as<std::string>());
  if (as_json(ctx, *vm)) {
    ctx.out << boost::json::serialize(question_json(q)) << "\n";
  } else {
    ctx.out << "asked question " << q.id << " at " << q.asked_at << "\n";
  }
  return exit_ok;
}

int answer(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id")(
      "qid", po::value<std::string>()->required(), "question id")(
      "text", po::value<std::string>()->required(), "the answer");
  po::positional_options_description pos;
  pos.add("tender", 1).add("qid", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, answer_usage, opts, pos, code);
  if (!vm) return code;
  const auto qid = positive(ctx, (*vm)["qid"].as<std::string>(), "QID");
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto a =
      docs::answer(c, (*vm)["tender"].as<std::string>(), qid, (*vm)["text"].as<std::string>());
  if (as_json(ctx, *vm)) {
    auto o = question_json(a.q);
    o["push_id"] = a.push_id;
    o["recipients"] = a.recipients;
    ctx.out << boost::json::serialize(o) << "\n";
  } else {
    ctx.out << "answered question " << a.q.id << "; pushed to " << a.recipients << " downloaders\n";
  }
  return exit_ok;
}

int questions(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("tender", po::value<std::string>()->required(), "tender id");
  po::positional_options_description pos;
  pos.add("tender", 1);
  int code = 0;
  auto vm = parse_command_args(ctx, args, questions_usage, opts, pos, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  const auto all = docs::questions(c, (*vm)["tender"].as<std::string>());
  if (as_json(ctx, *vm)) {
    boost::json::array a;
    for (const auto& q : all)
      a.push_back(question_json(q));
    ctx.out << boost::json::serialize(boost::json::object{{"questions", std::move(a)}}) << "\n";
    return exit_ok;
  }
  if (all.empty()) ctx.out << "no questions\n";
  for (const auto& q : all) {
    ctx.out << "Q" << q.id << " (" << q.asked_at << (q.mine && *q.mine ? ", yours" : "")
            << "): " << q.text << "\n";
    if (q.asked_by) ctx.out << "    asked by " << *q.asked_by << " of " << *q.asker_org << "\n";
    ctx.out << "    " << (q.answer ? "A: " + *q.answer : std::string("(not answered yet)")) << "\n";
  }
  return exit_ok;
}

int notifications(context& ctx, const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("read", po::value<std::string>(), "mark notification ID as read");
  int code = 0;
  auto vm = parse_command_args(ctx, args, notifications_usage, opts, {}, code);
  if (!vm) return code;
  auto c = ctx.make_client();
  c.set_token(saved_token(*vm));
  if (vm->count("read") != 0u) {
    const auto id = positive(ctx, (*vm)["read"].as<std::string>(), "--read");
    const auto r = docs::mark_read(c, id);
    if (as_json(ctx, *vm)) {
      ctx.out << boost::json::serialize(boost::json::object{
                     {"id", r.id}, {"read_at", r.read_at}, {"first_read", r.first_read}})
              << "\n";
    } else {
      ctx.out << "notification " << r.id << " read at " << r.read_at << "\n";
    }
    return exit_ok;
  }
  const auto page = docs::notifications(c);
  if (as_json(ctx, *vm)) {
    boost::json::array a;
    for (const auto& n : page.items) {
      boost::system::error_code ec;
      auto summary = boost::json::parse(n.summary_json, ec);
      a.push_back(boost::json::object{{"id", n.id},
                                      {"tender_id", n.tender_id},
                                      {"kind", n.kind},
                                      {"ref", n.ref},
                                      {"summary", ec ? boost::json::value(nullptr) : summary},
                                      {"created_at", n.created_at},
                                      {"read_at", opt(n.read_at)}});
    }
    ctx.out << boost::json::serialize(
                   boost::json::object{{"unread", page.unread}, {"notifications", std::move(a)}})
            << "\n";
    return exit_ok;
  }
  ctx.out << page.unread << " unread\n";
  for (const auto& n : page.items) {
    ctx.out << (n.read_at ? "  " : "* ") << n.id << "  " << n.created_at << "  " << n.tender_id
            << "  " << n.kind << " " << n.ref << "  " << n.summary_json << "\n";
  }
  return exit_ok;
}

}  // namespace

void add_document_commands(std::vector<command>& out) {
  out.push_back({"document upload", "upload a tender document or a new version of it", upload});
  out.push_back({"document list", "list a tender's documents and versions", list});
  out.push_back({"document download", "download a document version (SHA-256 checked)", download});
  out.push_back({"document downloads", "who downloaded (counts before the deadline)", downloads});
  out.push_back({"document receipts", "read receipts of a tender's pushes (tenderer)", receipts});
  out.push_back({"ask", "ask a question about a tender (bidder)", ask});
  out.push_back({"answer", "answer a question; the answer is published (tenderer)", answer});
  out.push_back({"questions", "list a tender's questions as your role may see them", questions});
  out.push_back({"notifications", "your notifications, or --read ID", notifications});
}

}  // namespace tender::cli
