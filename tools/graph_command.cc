// `crlog graph PATH`: the log's event DAG as Graphviz DOT, drawn so a person
// sees at a glance where histories diverged and joined:
//   - each site has its own colour, derived from its id, and a legend entry;
//     nodes of one site share a Graphviz `group`, which keeps a site's chain
//     on one straight lane;
//   - edges run parent -> child in the parent's colour, so the branch that
//     flows into a merge shows whose it was;
//   - merges (two or more parents) have a double border and say "merge";
//     heads have a thick black border and say "HEAD";
//   - imports belong to no site: dashed, striped in their origin sites'
//     colours, with the origins named;
//   - events of one lamport share a rank: concurrent events stand side by
//     side.
// With --limit N only the newest N events are drawn; a parent left out is a
// small "..." node with its short id.
//
// Every drawn event is decoded whole: the op count and an import's origins
// live in the body. DOT is built in memory (a graph too large for that is
// too large for Graphviz to lay out anyway), then goes to stdout, a file, or
// through `dot -Tsvg` into an SVG file.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"

extern char** environ;

namespace crlog::tools {
namespace {

namespace fs = std::filesystem;

// What a node shows; the event's rows are not kept.
struct Node {
  Hash hash{};
  uint64_t position = 0;
  EventKind kind = EventKind::kChange;
  SiteId site{};
  uint64_t seq = 0;
  uint64_t lamport = 0;
  int64_t time_micros = 0;
  std::vector<Hash> parents;
  std::vector<SiteId> origins;  // imports
  uint64_t ops = 0;
  GroupInfo group;
  std::string note;  // a schema change's table, a policy's target, ...
};

// Colour pairs (fill, line) far enough apart to tell sites apart; fills are
// light so the black label text stays readable.
struct SiteColour {
  const char* fill;
  const char* line;
};
constexpr SiteColour kPalette[] = {
    {"#a6cee3", "#1f78b4"}, {"#b2df8a", "#33a02c"}, {"#fb9a99", "#e31a1c"}, {"#fdbf6f", "#ff7f00"},
    {"#cab2d6", "#6a3d9a"}, {"#ffff99", "#b15928"}, {"#8dd3c7", "#1b9e77"}, {"#fccde5", "#e7298a"},
    {"#bebada", "#7570b3"}, {"#e5c494", "#a6761d"},
};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

// The palette slot a site wants: FNV-1a of its id, so a site keeps its
// colour from run to run and from log to log.
size_t PreferredColour(const SiteId& site) {
  uint32_t h = 2166136261u;
  for (uint8_t b : site) h = (h ^ b) * 16777619u;
  return h % kPaletteSize;
}

// Colours for the sites in the drawing: each its preferred slot, unless a
// site with a smaller id took it first; then the next free one (while any
// is free), so two sites in one drawing differ whenever they can.
std::map<SiteId, SiteColour> AssignColours(const std::set<SiteId>& sites) {
  std::map<SiteId, SiteColour> colours;
  std::vector<bool> taken(kPaletteSize, false);
  size_t used = 0;
  for (const SiteId& site : sites) {
    size_t slot = PreferredColour(site);
    if (used < kPaletteSize) {
      while (taken[slot]) slot = (slot + 1) % kPaletteSize;
      taken[slot] = true;
      ++used;
    }
    colours[site] = kPalette[slot];
  }
  return colours;
}

// A DOT double-quoted string.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  out += "\"";
  return out;
}

std::string NodeId(const Hash& h) { return Quote(ToHex(h)); }
std::string OutsideId(const Hash& h) { return Quote(absl::StrCat("outside-", ToHex(h))); }
std::string LegendId(const SiteId& s) { return Quote(absl::StrCat("site-", ToHex(s))); }

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string NoteFor(const Event& e) {
  switch (e.kind) {
    case EventKind::kSchemaChange:
      return absl::StrCat("table ", e.schema_change.table, e.schema_change.sql.empty() ? " dropped" : "");
    case EventKind::kPolicy:
      return absl::StrCat(e.policy.table, e.policy.column.empty() ? "" : ".", e.policy.column, ": ",
                          e.policy.rule);
    case EventKind::kResolution:
      return absl::StrCat(e.resolution.action == ResolutionBody::Action::kChoose ? "choose " : "drop ",
                          Plural(e.resolution.subjects.size(), "event", "events"));
    case EventKind::kCheckpoint:
      return absl::StrCat("frontier of ", Plural(e.checkpoint.frontier.size(), "event", "events"));
    case EventKind::kChange:
    case EventKind::kImport:
      break;
  }
  return "";
}

struct Graph {
  std::vector<Node> nodes;  // arrival order
  std::set<Hash> heads;
  uint64_t total_events = 0;  // in the log, drawn or not
};

// Reads the drawn events: all of them, or the newest `limit`.
absl::StatusOr<Graph> ReadGraph(const Log& store, const GraphOptions& options, const Io& io) {
  Graph g;
  absl::StatusOr<LogStats> stats = store.Stats();
  if (!stats.ok()) return stats.status();
  g.total_events = stats->events;
  absl::StatusOr<std::vector<Hash>> heads = store.Heads();
  if (!heads.ok()) return heads.status();
  g.heads.insert(heads->begin(), heads->end());

  const uint64_t want = options.limit ? std::min(*options.limit, g.total_events) : g.total_events;
  absl::Status fault;
  ProgressLine progress(io.err, io.err_is_terminal, "reading the log");
  auto visit = [&](const StoredEvent& stored) {
    if (g.nodes.size() >= want) return false;
    absl::StatusOr<Event> event = stored.Decode();
    if (!event.ok()) {
      fault = absl::DataLossError(absl::StrCat(
          "event ", ToHex(stored.hash), " at position ", stored.position, " of '", store.path(),
          "' does not decode: ", event.status().message(), "; run `crlog verify` on the log to find every fault"));
      return false;
    }
    Node n;
    n.hash = stored.hash;
    n.position = stored.position;
    n.kind = event->kind;
    n.site = event->site;
    n.seq = event->seq;
    n.lamport = event->lamport;
    n.time_micros = event->time_micros;
    n.parents = std::move(event->parents);
    n.origins = std::move(event->origins);
    n.ops = event->CountOps();
    n.group = event->group;
    n.note = NoteFor(*event);
    g.nodes.push_back(std::move(n));
    progress.Update(g.nodes.size(), want);
    return true;
  };
  absl::Status walk = options.limit ? store.ForEachNewestFirst(visit) : store.ForEach(visit);
  if (!fault.ok()) return fault;
  if (!walk.ok()) {
    return absl::Status(walk.code(), absl::StrCat("reading the log '", store.path(), "' failed: ", walk.message()));
  }
  if (options.limit) std::reverse(g.nodes.begin(), g.nodes.end());
  return g;
}

std::string KindText(const Node& n) {
  if (n.kind == EventKind::kImport) return "import";
  std::string kind = EventKindName(n.kind);
  if (n.parents.size() > 1) return absl::StrCat("merge of ", n.parents.size(), " (", kind, ")");
  return kind;
}

std::string Label(const Node& n, bool head) {
  std::vector<std::string> lines;
  lines.push_back(absl::StrCat(ShortHex(n.hash), head ? "  HEAD" : ""));
  if (n.kind == EventKind::kImport) {
    lines.push_back(absl::StrCat(
        "import from ", absl::StrJoin(n.origins, ", ", [](std::string* out, const SiteId& s) {
          absl::StrAppend(out, ShortSite(s));
        })));
  } else {
    lines.push_back(absl::StrCat(ShortSite(n.site), ":", n.seq, "  lamport ", n.lamport));
    lines.push_back(KindText(n));
  }
  std::string what = Plural(n.ops, "op", "ops");
  if (!n.note.empty()) what = n.ops == 0 ? n.note : absl::StrCat(n.note, ", ", what);
  if (n.group.grouped()) absl::StrAppend(&what, ", group ", n.group.index + 1, "/", n.group.count);
  lines.push_back(what);
  // Imports carry no writer's time (see tools/output.cc).
  if (!(n.kind == EventKind::kImport && n.time_micros == 0)) lines.push_back(FormatTime(n.time_micros));
  return absl::StrJoin(lines, "\n");
}

// The DOT text of `g`; `title` names the log.
std::string Dot(const Graph& g, const std::string& title) {
  std::map<Hash, const Node*> drawn;
  std::set<SiteId> sites;
  std::map<SiteId, uint64_t> site_events;
  for (const Node& n : g.nodes) {
    drawn[n.hash] = &n;
    if (n.kind == EventKind::kImport) {
      sites.insert(n.origins.begin(), n.origins.end());
    } else {
      sites.insert(n.site);
      ++site_events[n.site];
    }
  }
  const std::map<SiteId, SiteColour> colours = AssignColours(sites);
  uint64_t merges = 0, heads = 0, imports = 0;
  for (const Node& n : g.nodes) {
    merges += n.parents.size() > 1;
    heads += g.heads.contains(n.hash);
    imports += n.kind == EventKind::kImport;
  }

  std::ostringstream o;
  std::string summary = absl::StrCat(Plural(g.nodes.size(), "event", "events"),
                                     g.nodes.size() < g.total_events ? absl::StrCat(" (newest, of ", g.total_events, ")") : "",
                                     ", ", Plural(sites.size(), "site", "sites"), ", ", Plural(merges, "merge", "merges"),
                                     ", ", Plural(imports, "import", "imports"), ", ", Plural(heads, "head", "heads"));
  o << "// crlog graph: " << summary << "\n";
  o << "// Render: dot -Tsvg THIS_FILE -o graph.svg\n";
  o << "digraph crlog {\n";
  o << "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.45, labelloc=t, "
       "labeljust=l, label="
    << Quote(absl::StrCat(title, "\n", summary)) << "];\n";
  o << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=9, penwidth=1];\n";
  o << "  edge [arrowsize=0.6, penwidth=1.2];\n";

  // The legend: one entry per site, and what the borders mean.
  o << "  subgraph cluster_legend {\n";
  o << "    label=\"sites\"; fontsize=10; style=\"rounded,dashed\"; color=\"#999999\";\n";
  std::vector<std::string> legend_ids;
  for (const SiteId& s : sites) {
    const SiteColour& c = colours.at(s);
    auto it = site_events.find(s);
    uint64_t count = it == site_events.end() ? 0 : it->second;
    std::string events = count == 0 ? "in imports only" : Plural(count, "event", "events");
    o << "    " << LegendId(s) << " [label=" << Quote(absl::StrCat(ToHex(s), "\n", events))
      << ", fillcolor=\"" << c.fill << "\", color=\"" << c.line << "\"];\n";
    legend_ids.push_back(LegendId(s));
  }
  o << "    \"legend-key\" [shape=plaintext, style=\"\", label="
    << Quote("double border: merge\nthick black border: head\ndashed: import\n\"... <id>\": parent not drawn")
    << "];\n";
  legend_ids.push_back("\"legend-key\"");
  // Stacked in one column, whatever the ranks of the events beside them.
  o << "    { rank=same; " << absl::StrJoin(legend_ids, "; ") << "; }\n";
  o << "  }\n";

  // The events.
  std::map<uint64_t, std::vector<std::string>> by_lamport;
  std::set<Hash> outside;
  std::vector<std::string> outside_nodes;
  for (const Node& n : g.nodes) {
    const bool head = g.heads.contains(n.hash);
    std::vector<std::string> attrs;
    attrs.push_back(absl::StrCat("label=", Quote(Label(n, head))));
    if (n.kind == EventKind::kImport) {
      std::vector<std::string> fills;
      for (const SiteId& s : n.origins) fills.push_back(colours.at(s).fill);
      if (fills.empty()) fills.push_back("#eeeeee");
      // Striped fills need a plain (not rounded) box.
      attrs.push_back("shape=box");
      attrs.push_back("style=\"striped,dashed\"");
      attrs.push_back(absl::StrCat("fillcolor=", Quote(absl::StrJoin(fills, ":"))));
      attrs.push_back(head ? "color=black" : "color=\"#555555\"");
    } else {
      const SiteColour& c = colours.at(n.site);
      attrs.push_back(absl::StrCat("fillcolor=\"", c.fill, "\""));
      attrs.push_back(head ? std::string("color=black") : absl::StrCat("color=\"", c.line, "\""));
      attrs.push_back(absl::StrCat("group=", Quote(ToHex(n.site))));
      if (n.kind == EventKind::kSchemaChange || n.kind == EventKind::kPolicy ||
          n.kind == EventKind::kResolution || n.kind == EventKind::kCheckpoint) {
        attrs.push_back("shape=note");
        attrs.push_back("style=filled");
      }
    }
    if (n.parents.size() > 1) attrs.push_back("peripheries=2");
    if (head) attrs.push_back("penwidth=3");
    o << "  " << NodeId(n.hash) << " [" << absl::StrJoin(attrs, ", ") << "];\n";
    by_lamport[n.lamport].push_back(NodeId(n.hash));
  }

  // Parent -> child, in the parent's colour.
  for (const Node& n : g.nodes) {
    for (const Hash& p : n.parents) {
      auto it = drawn.find(p);
      if (it == drawn.end()) {
        if (outside.insert(p).second) {
          o << "  " << OutsideId(p) << " [shape=plaintext, style=\"\", fontsize=8, fontcolor=\"#777777\", label="
            << Quote(absl::StrCat("... ", ShortHex(p))) << "];\n";
        }
        o << "  " << OutsideId(p) << " -> " << NodeId(n.hash) << " [style=dotted, color=\"#777777\"];\n";
        continue;
      }
      const Node& parent = *it->second;
      const char* colour = parent.kind == EventKind::kImport ? "#555555" : colours.at(parent.site).line;
      o << "  " << NodeId(p) << " -> " << NodeId(n.hash) << " [color=\"" << colour << "\""
        << (parent.kind == EventKind::kImport ? ", style=dashed" : "") << "];\n";
    }
  }

  // Concurrent events (one lamport) side by side.
  for (const auto& [lamport, ids] : by_lamport) {
    if (ids.size() < 2) continue;
    o << "  { rank=same; " << absl::StrJoin(ids, "; ") << "; }  // lamport " << lamport << "\n";
  }
  o << "}\n";
  return o.str();
}

// Graphviz's `dot` on PATH, or "" when there is none.
std::string FindDot() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/dot");
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
  }
  return "";
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << text;
  if (out) out.flush();
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", path, "': ", std::strerror(errno), "; check the directory exists and is writable"));
  }
  return absl::OkStatus();
}

// A temporary file's path, removed with the object.
class TempFile {
 public:
  explicit TempFile(std::string tag) {
    std::error_code ec;
    fs::path dir = fs::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    std::string pattern = (dir / absl::StrCat("crlog-graph-", tag, "-XXXXXX")).string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = ::mkstemp(buf.data());
    if (fd >= 0) {
      ::close(fd);
      path_ = buf.data();
    }
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (s.size() > 2000) s = absl::StrCat(s.substr(0, 2000), "...");
  return std::string(absl::StripTrailingAsciiWhitespace(s));
}

// Renders `dot_text` into the SVG file `out` with Graphviz's `dot`.
absl::Status RenderSvg(const std::string& dot_text, const std::string& out) {
  const std::string dot = FindDot();
  if (dot.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "writing SVG to '", out, "' needs Graphviz's `dot` program, which is not on PATH; install Graphviz "
        "(Debian: apt-get install graphviz), or write DOT with --out FILE.dot and render it where Graphviz is"));
  }
  TempFile input("in"), errors("err");
  if (input.path().empty() || errors.path().empty()) {
    return absl::InternalError(absl::StrCat("cannot create a temporary file for `dot`: ", std::strerror(errno),
                                            "; set TMPDIR to a writable directory"));
  }
  if (absl::Status s = WriteFile(input.path(), dot_text); !s.ok()) return s;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, errors.path().c_str(), O_WRONLY | O_TRUNC, 0);
  std::vector<std::string> args = {"dot", "-Tsvg", "-o", out, input.path()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, dot.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot run '", dot, "': ", std::strerror(rc)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waiting for '", dot, "': ", std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = ReadSmallFile(errors.path());
    return absl::InternalError(absl::StrCat(
        "'", dot, "' failed to write '", out, "' (",
        WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status)) : std::string("killed"), ")",
        why.empty() ? "" : ": ", why, "; write DOT with --out FILE.dot to look at the input"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunGraph(const GraphOptions& options, const Io& io) {
  absl::StatusOr<std::unique_ptr<Log>> store = Log::OpenReadOnly(options.path);
  if (!store.ok()) return store.status();
  absl::StatusOr<Graph> graph = ReadGraph(**store, options, io);
  if (!graph.ok()) return graph.status();
  const std::string dot = Dot(*graph, absl::StrCat("crlog graph of ", (*store)->path()));

  if (!options.out) {
    io.out << dot;
    io.out.flush();
    return absl::OkStatus();
  }
  const std::string& out = *options.out;
  if (absl::Status s = CheckOutputPath(out, "--out"); !s.ok()) return s;
  const bool svg = absl::EndsWithIgnoreCase(out, ".svg");
  // dot takes minutes on a big graph and reports no progress of its own:
  // say what is happening rather than leave a silent terminal.
  const bool announce = svg && io.err_is_terminal && graph->nodes.size() >= 10000;
  if (announce) {
    io.err << "rendering " << graph->nodes.size() << " events with Graphviz dot (this can take minutes)...";
    io.err.flush();
  }
  absl::Status written = svg ? RenderSvg(dot, out) : WriteFile(out, dot);
  if (announce) {
    io.err << "\r\x1b[K";
    io.err.flush();
  }
  if (!written.ok()) return written;
  io.out << "wrote " << out << ": " << Plural(graph->nodes.size(), "event", "events")
         << (svg ? " (SVG, by Graphviz)" : " (DOT)") << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
