// `crlog graph` as a user runs it: the built binary in a subprocess, on the
// demo log (two sites on concurrent branches, their merge, an import). The
// DOT it prints is parsed as DOT (statements, attribute lists, subgraphs),
// not matched line by line, and checked against `crlog log --json`.
#include <stdlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/cli/mini_json.h"
#include "tests/cli/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crlog::cli_test {
namespace {

namespace fs = std::filesystem;

constexpr char kAlice[] = "a11ce000000000000000000000000000";
constexpr char kBob[] = "b0b00000000000000000000000000000";
constexpr char kPeer[] = "c0ffee00000000000000000000000000";

// --- A small DOT reader -----------------------------------------------------

using Attrs = std::map<std::string, std::string>;

struct DotEdge {
  std::string from, to;
  Attrs attrs;
};

struct DotGraph {
  std::map<std::string, Attrs> nodes;  // declared by a node statement
  std::vector<DotEdge> edges;
  std::vector<std::set<std::string>> same_rank;  // nodes of each { rank=same; ... }
};

// Tokens: quoted strings (unescaped, marked by a leading '"'), bare words,
// "->", and single punctuation characters.
std::optional<std::vector<std::string>> Tokenize(const std::string& text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"') {
      std::string s = "\"";
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) {
          char e = text[i + 1];
          s += e == 'n' ? '\n' : e;
          i += 2;
        } else {
          s += text[i++];
        }
      }
      if (i >= text.size()) return std::nullopt;  // unterminated string
      ++i;
      tokens.push_back(s);
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '>') {
      tokens.push_back("->");
      i += 2;
    } else if (std::string("{}[];,=").find(c) != std::string::npos) {
      tokens.push_back(std::string(1, c));
      ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-') {
      size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' ||
                                 text[i] == '.' || text[i] == '-')) {
        ++i;
      }
      tokens.push_back(text.substr(start, i - start));
    } else {
      return std::nullopt;
    }
  }
  return tokens;
}

bool IsId(const std::string& t) {
  return !t.empty() && (t[0] == '"' || std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_' ||
                        t[0] == '.' || t[0] == '-') && t != "->";
}
std::string Unquote(const std::string& t) { return t[0] == '"' ? t.substr(1) : t; }

class DotParser {
 public:
  explicit DotParser(std::vector<std::string> tokens) : t_(std::move(tokens)) {}

  std::optional<DotGraph> Parse() {
    if (!Accept("digraph")) return std::nullopt;
    if (IsId(Peek())) ++pos_;
    if (!Accept("{") || !Statements(nullptr) || !Accept("}") || pos_ != t_.size()) return std::nullopt;
    return g_;
  }

 private:
  const std::string& Peek(size_t ahead = 0) const {
    static const std::string kEnd;
    return pos_ + ahead < t_.size() ? t_[pos_ + ahead] : kEnd;
  }
  bool Accept(const std::string& s) {
    if (Peek() != s) return false;
    ++pos_;
    return true;
  }
  bool AttrList(Attrs* attrs) {
    while (Accept("[")) {
      while (!Accept("]")) {
        if (!IsId(Peek()) || Peek(1) != "=" || !IsId(Peek(2))) return false;
        (*attrs)[Unquote(Peek())] = Unquote(Peek(2));
        pos_ += 3;
        Accept(",") || Accept(";");
      }
    }
    return true;
  }
  // Statements up to the closing brace; `members` collects node ids named.
  bool Statements(std::set<std::string>* members) {
    while (!Peek().empty() && Peek() != "}") {
      if (Accept(";")) continue;
      const std::string& word = Peek();
      if (word == "graph" || word == "node" || word == "edge") {
        ++pos_;
        Attrs ignored;
        if (!AttrList(&ignored)) return false;
      } else if (word == "subgraph" || word == "{") {
        if (Accept("subgraph") && IsId(Peek()) && Peek() != "{") ++pos_;
        if (!Accept("{")) return false;
        std::set<std::string> inner;
        const size_t first_attr = pos_;
        if (!Statements(&inner) || !Accept("}")) return false;
        // rank=same of this block, as an attribute statement inside it.
        for (size_t i = first_attr; i + 2 < pos_; ++i) {
          if (t_[i] == "rank" && t_[i + 1] == "=" && Unquote(t_[i + 2]) == "same") {
            g_.same_rank.push_back(inner);
            break;
          }
        }
        if (members) members->insert(inner.begin(), inner.end());
      } else if (IsId(word) && Peek(1) == "=") {
        pos_ += 2;
        if (!IsId(Peek())) return false;
        ++pos_;
      } else if (IsId(word)) {
        std::vector<std::string> chain = {Unquote(word)};
        ++pos_;
        while (Accept("->")) {
          if (!IsId(Peek())) return false;
          chain.push_back(Unquote(Peek()));
          ++pos_;
        }
        Attrs attrs;
        if (!AttrList(&attrs)) return false;
        if (members) members->insert(chain.begin(), chain.end());
        if (chain.size() == 1) {
          for (const auto& [k, v] : attrs) g_.nodes[chain[0]][k] = v;
          if (!g_.nodes.count(chain[0])) g_.nodes[chain[0]] = {};
        } else {
          for (size_t i = 0; i + 1 < chain.size(); ++i) g_.edges.push_back({chain[i], chain[i + 1], attrs});
        }
      } else {
        return false;
      }
    }
    return true;
  }

  std::vector<std::string> t_;
  size_t pos_ = 0;
  DotGraph g_;
};

std::optional<DotGraph> ParseDot(const std::string& text) {
  std::optional<std::vector<std::string>> tokens = Tokenize(text);
  if (!tokens) return std::nullopt;
  return DotParser(std::move(*tokens)).Parse();
}

// --- The demo log as `crlog log --json` describes it ------------------------

struct Ev {
  std::string hash, kind, who;  // who: "site:seq" or "import"
  uint64_t lamport = 0;
  std::vector<std::string> parents;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HaveDot() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

class GraphCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    log_ = dir_ / "demo-crlog";
    RunResult r = Crlog({"demo", log_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NO_FATAL_FAILURE(ReadEvents());
  }

  RunResult Crlog(const std::vector<std::string>& args) { return cli_test::Run(CRLOG_BINARY, args, dir_.string()); }

  void ReadEvents() {
    RunResult r = Crlog({"log", "--json", log_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::optional<Json> doc = ParseJson(r.out);
    ASSERT_TRUE(doc && doc->is(Json::Type::kArray)) << r.out;
    for (const Json& e : doc->items) {
      Ev ev;
      ev.hash = e.get("hash")->text;
      ev.kind = e.get("kind")->text;
      ev.lamport = std::stoull(e.get("lamport")->text);
      ev.who = ev.kind == "import" ? "import" : e.get("site")->text + ":" + e.get("seq")->text;
      for (const Json& p : e.get("parents")->items) ev.parents.push_back(p.text);
      by_who_[ev.who] = ev;
      events_.push_back(ev);
    }
    ASSERT_EQ(events_.size(), 6u);
  }
  const Ev& At(const std::string& site, int seq) { return by_who_.at(site + ":" + std::to_string(seq)); }

  DotGraph Graph(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"graph", log_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Crlog(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::optional<DotGraph> g = ParseDot(r.out);
    EXPECT_TRUE(g.has_value()) << "not DOT:\n" << r.out;
    return g.value_or(DotGraph{});
  }

  test_support::TempDir tmp_{"crlog-graph"};
  fs::path dir_, log_;
  std::vector<Ev> events_;
  std::map<std::string, Ev> by_who_;
};

TEST_F(GraphCliTest, EveryEventIsANodeAndEveryParentLinkAnEdge) {
  DotGraph g = Graph();
  std::set<std::pair<std::string, std::string>> want, got;
  for (const Ev& e : events_) {
    ASSERT_TRUE(g.nodes.count(e.hash)) << e.who << " " << e.hash << " is not a node";
    for (const std::string& p : e.parents) want.insert({p, e.hash});
  }
  for (const DotEdge& e : g.edges) got.insert({e.from, e.to});
  EXPECT_EQ(got, want) << "edges run parent -> child, one per parent link, and nothing else";
  // Nodes besides the events are the legend's only.
  for (const auto& [id, attrs] : g.nodes) {
    bool event = false;
    for (const Ev& e : events_) event |= e.hash == id;
    EXPECT_TRUE(event || id.rfind("site-", 0) == 0 || id == "legend-key") << "unexpected node " << id;
  }
}

TEST_F(GraphCliTest, ConcurrentBranchesOfTwoSitesAndTheirMergeShowAsSuch) {
  DotGraph g = Graph();
  const Ev& a1 = At(kAlice, 1);
  const Ev& a2 = At(kAlice, 2);
  const Ev& b1 = At(kBob, 1);
  const Ev& b2 = At(kBob, 2);
  const Ev& merge = At(kAlice, 3);

  // Each site has its own colour, and its nodes one lane (group).
  EXPECT_NE(g.nodes[a2.hash]["fillcolor"], g.nodes[b2.hash]["fillcolor"]);
  EXPECT_EQ(g.nodes[a1.hash]["fillcolor"], g.nodes[a2.hash]["fillcolor"]);
  EXPECT_EQ(g.nodes[b1.hash]["fillcolor"], g.nodes[b2.hash]["fillcolor"]);
  EXPECT_EQ(g.nodes[a2.hash]["group"], kAlice);
  EXPECT_EQ(g.nodes[b2.hash]["group"], kBob);
  // The legend names every site, the import's origin too, in its colour.
  EXPECT_EQ(g.nodes[std::string("site-") + kAlice]["fillcolor"], g.nodes[a1.hash]["fillcolor"]);
  EXPECT_EQ(g.nodes[std::string("site-") + kBob]["fillcolor"], g.nodes[b1.hash]["fillcolor"]);
  EXPECT_TRUE(g.nodes.count(std::string("site-") + kPeer));

  // Divergence: both branches start at alice:1.
  int from_a1 = 0;
  for (const DotEdge& e : g.edges) from_a1 += e.from == a1.hash && (e.to == a2.hash || e.to == b1.hash);
  EXPECT_EQ(from_a1, 2);
  // The concurrent events of lamport 2 stand side by side.
  bool side_by_side = false;
  for (const std::set<std::string>& rank : g.same_rank) side_by_side |= rank.count(a2.hash) && rank.count(b1.hash);
  EXPECT_TRUE(side_by_side) << "alice:2 and bob:1 (both lamport 2) should share a rank";

  // The join: the merge names both branch tips and is marked as a merge.
  std::set<std::string> into_merge;
  for (const DotEdge& e : g.edges) {
    if (e.to == merge.hash) into_merge.insert(e.from);
  }
  EXPECT_EQ(into_merge, (std::set<std::string>{a2.hash, b2.hash}));
  Attrs& m = g.nodes[merge.hash];
  EXPECT_EQ(m["peripheries"], "2");
  EXPECT_NE(m["label"].find("merge of 2"), std::string::npos) << m["label"];
  EXPECT_NE(m["label"].find("a11ce000:3"), std::string::npos) << m["label"];
  EXPECT_NE(m["label"].find(merge.hash.substr(0, 12)), std::string::npos) << m["label"];
  EXPECT_NE(m["label"].find("2024-05-01T09:15:00.250Z"), std::string::npos) << m["label"];
  EXPECT_EQ(g.nodes[a2.hash].count("peripheries"), 0u);
  // The edge from bob's branch into the merge is drawn in bob's colour.
  for (const DotEdge& e : g.edges) {
    if (e.from == b2.hash && e.to == merge.hash) {
      EXPECT_EQ(e.attrs.at("color"), g.nodes[b2.hash]["color"]);
    }
  }

  // The import: dashed, naming where its changes came from.
  const Ev& import = by_who_.at("import");
  Attrs& imp = g.nodes[import.hash];
  EXPECT_NE(imp["style"].find("dashed"), std::string::npos);
  EXPECT_NE(imp["label"].find("import from c0ffee00"), std::string::npos) << imp["label"];
}

TEST_F(GraphCliTest, HeadsAreMarked) {
  DotGraph g = Graph();
  std::set<std::string> parents;
  for (const Ev& e : events_) parents.insert(e.parents.begin(), e.parents.end());
  int heads = 0;
  for (const Ev& e : events_) {
    const bool head = !parents.count(e.hash);
    heads += head;
    Attrs& n = g.nodes[e.hash];
    EXPECT_EQ(n["label"].find("HEAD") != std::string::npos, head) << e.who << ": " << n["label"];
    EXPECT_EQ(n["penwidth"] == "3", head) << e.who;
  }
  EXPECT_EQ(heads, 2);  // the merge and the import
}

TEST_F(GraphCliTest, LimitKeepsTheNewestEventsAndShowsParentsLeftOut) {
  DotGraph g = Graph({"--limit", "2"});
  const Ev& merge = At(kAlice, 3);
  const Ev& import = by_who_.at("import");
  int events = 0;
  for (const Ev& e : events_) events += g.nodes.count(e.hash);
  EXPECT_EQ(events, 2);
  EXPECT_TRUE(g.nodes.count(merge.hash) && g.nodes.count(import.hash));
  // The merge's parents are not drawn: each is a small "..." node.
  std::set<std::string> into_merge;
  for (const DotEdge& e : g.edges) {
    if (e.to == merge.hash) into_merge.insert(e.from);
  }
  ASSERT_EQ(into_merge.size(), 2u);
  for (const std::string& from : into_merge) {
    ASSERT_EQ(from.rfind("outside-", 0), 0u) << from;
    const std::string parent = from.substr(8);
    EXPECT_TRUE(parent == At(kAlice, 2).hash || parent == At(kBob, 2).hash) << parent;
    EXPECT_EQ(g.nodes[from]["label"], "... " + parent.substr(0, 12));
  }
}

TEST_F(GraphCliTest, OutWritesTheSameDotToAFile) {
  RunResult plain = Crlog({"graph", log_.string()});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const fs::path file = dir_ / "history.dot";
  RunResult r = Crlog({"graph", log_.string(), "--out", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote " + file.string() + ": 6 events (DOT)\n");
  EXPECT_EQ(ReadFile(file), plain.out);
}

TEST_F(GraphCliTest, SvgIsRenderedByGraphviz) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed (scripts/setup.sh installs it)";
  const fs::path file = dir_ / "history.svg";
  RunResult r = Crlog({"graph", log_.string(), "-o", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string svg = ReadFile(file);
  EXPECT_NE(svg.find("<svg"), std::string::npos) << svg.substr(0, 200);
  for (const Ev& e : events_) EXPECT_NE(svg.find(e.hash.substr(0, 12)), std::string::npos) << e.who;
}

TEST_F(GraphCliTest, SvgWithoutGraphvizSaysWhatToInstall) {
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  const fs::path empty = dir_ / "empty-bin";
  fs::create_directories(empty);
  setenv("PATH", empty.c_str(), 1);
  RunResult r = Crlog({"graph", log_.string(), "--out", (dir_ / "g.svg").string()});
  setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("crlog graph: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("graphviz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--out FILE.dot"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "g.svg"));
}

TEST_F(GraphCliTest, BadPathFailsWithExit3AndNamesIt) {
  const std::string missing = (dir_ / "no-such.db").string();
  RunResult r = Crlog({"graph", missing});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("crlog graph: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
}

TEST_F(GraphCliTest, UsageErrorsExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"graph"}, {"graph", log_.string(), "--limit", "x"}, {"graph", log_.string(), "--out"},
           {"graph", log_.string(), "--bogus"}}) {
    RunResult r = Crlog(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find("usage: crlog graph"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace crlog::cli_test
