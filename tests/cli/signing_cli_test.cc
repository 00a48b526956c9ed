// Signed events end to end, as a user meets them: `crlog keygen` makes a
// key, an application signs with crlog_sign_with through the loaded
// extension (CRLOG_EXTENSION), `crlog trust` records another site's key, and
// `crlog verify` (CRLOG_BINARY, a subprocess) passes signed logs and fails,
// naming the event, on an unsigned or wrongly signed event of a site whose
// key is trusted.
//
// The test process never opens a log itself: the extension holds it, and
// the crlog binary runs in its own process.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cctype>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crlog::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A connection to a database file with the built extension loaded.
class Db {
 public:
  explicit Db(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_enable_load_extension(db_, 1);
    char* err = nullptr;
    if (sqlite3_load_extension(db_, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err) != SQLITE_OK) {
      ADD_FAILURE() << "loading " << CRLOG_EXTENSION << ": " << (err ? err : "?");
    }
    sqlite3_free(err);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs `sql` with `text` bound to ?1 (when given; as a BLOB with
  // `blob`) and returns the first column of the first row as text or bytes
  // ("NULL" for NULL); a failure returns "error: " and SQLite's message.
  std::string Query(const std::string& sql, const std::string* text = nullptr, bool blob = false) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return std::string("error: ") + sqlite3_errmsg(db_);
    }
    if (text != nullptr && blob) {
      sqlite3_bind_blob(stmt, 1, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
    } else if (text != nullptr) {
      sqlite3_bind_text(stmt, 1, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
    }
    int rc = sqlite3_step(stmt);
    std::string out;
    if (rc == SQLITE_ROW) {
      const void* v = sqlite3_column_blob(stmt, 0);
      out = v ? std::string(static_cast<const char*>(v), sqlite3_column_bytes(stmt, 0)) : "NULL";
    } else if (rc != SQLITE_DONE) {
      out = std::string("error: ") + sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
    }
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

class SigningCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  RunResult Crlog(const std::vector<std::string>& args) { return cli_test::Run(CRLOG_BINARY, args, dir_.string()); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // `crlog keygen --out NAME`: the PEM and the public key it printed.
  std::pair<std::string, std::string> Keygen(const std::string& name) {
    RunResult r = Crlog({"keygen", "--out", Path(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return {ReadFile(Path(name)), Trim(r.out)};
  }

  // A database with a replicated table `todo`.
  std::unique_ptr<Db> NewDb(const std::string& name) {
    auto db = std::make_unique<Db>(Path(name));
    db->Exec("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)");
    EXPECT_EQ(db->Query("SELECT crsql_as_crr('todo')"), "OK");
    return db;
  }

  test_support::TempDir tmp_{"crlog-signing"};
  fs::path dir_;
};

TEST_F(SigningCliTest, KeygenWritesAPrivateFileAndPrintsThePublicKey) {
  auto [pem, public_key] = Keygen("site.key");
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_EQ(public_key.size(), 64u);
  struct stat st;
  ASSERT_EQ(stat(Path("site.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SigningCliTest, KeygenNeverOverwritesAKey) {
  auto [pem, public_key] = Keygen("site.key");
  RunResult r = Crlog({"keygen", "--out", Path("site.key")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadFile(Path("site.key")), pem);
}

TEST_F(SigningCliTest, SignedWritesVerifyAndAreCounted) {
  auto [pem, public_key] = Keygen("site.key");
  {
    auto db = NewDb("app.db");  // the schema event (seq 1) is unsigned history
    EXPECT_EQ(db->Query("SELECT crlog_public_key()"), "NULL");
    EXPECT_EQ(db->Query("SELECT crlog_sign_with(?1)", &pem), public_key);
    EXPECT_EQ(db->Query("SELECT crlog_public_key()"), public_key);
    // The site trusts itself from its next event on.
    EXPECT_EQ(db->Query("SELECT hex(public_key) || ' ' || signs_from_seq FROM crlog_keys "
                        "WHERE site = crsql_site_id()"),
              Upper(public_key) + " 2");
    db->Exec("INSERT INTO todo VALUES (1, 'milk')");
    db->Exec("INSERT INTO todo VALUES (2, 'eggs')");
    db->Exec("UPDATE todo SET title = 'oat milk' WHERE id = 1");
  }
  RunResult r = Crlog({"verify", Path("app.db")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("verified: 4 events"));
  EXPECT_THAT(r.out, HasSubstr("signatures: 3 good from trusted keys"));
}

TEST_F(SigningCliTest, TrustedSiteWritingUnsignedFailsVerifyNamingTheEvent) {
  auto [pem, public_key] = Keygen("site.key");
  std::string site, unsigned_event;
  {
    auto db = NewDb("app.db");
    site = db->Query("SELECT lower(hex(crsql_site_id()))");
    EXPECT_EQ(db->Query("SELECT crlog_sign_with(?1)", &pem), public_key);
    db->Exec("INSERT INTO todo VALUES (1, 'signed')");
    EXPECT_EQ(db->Query("SELECT crlog_sign_with(NULL)"), "NULL");
    db->Exec("INSERT INTO todo VALUES (2, 'not signed')");
    unsigned_event = db->Query("SELECT hash FROM crlog_events ORDER BY position DESC LIMIT 1");
  }
  RunResult r = Crlog({"verify", Path("app.db")});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("event " + unsigned_event + " (site " + site + ", seq 3"));
  EXPECT_THAT(r.err, HasSubstr("is unsigned but site " + site + " signs its events"));
}

TEST_F(SigningCliTest, EventsSignedWithAnotherKeyThanTheTrustedOneFailVerify) {
  auto [pem, public_key] = Keygen("site.key");
  auto [other_pem, other_key] = Keygen("other.key");
  std::string site;
  {
    auto db = NewDb("app.db");
    site = db->Query("SELECT lower(hex(crsql_site_id()))");
    EXPECT_EQ(db->Query("SELECT crlog_sign_with(?1)", &pem), public_key);
    db->Exec("INSERT INTO todo VALUES (1, 'milk')");
    // A site signs with one key: another is refused while this one is trusted.
    EXPECT_THAT(db->Query("SELECT crlog_sign_with(?1)", &other_pem), HasSubstr("signs with the key " + public_key));
    EXPECT_EQ(db->Query("SELECT crlog_public_key()"), public_key);
  }
  // The operator records the wrong key for the site.
  RunResult refused = Crlog({"trust", Path("app.db"), site, other_key});
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_THAT(refused.err, HasSubstr("already has a trusted key"));
  RunResult replaced = Crlog({"trust", Path("app.db"), site, other_key, "--replace", "--from-seq", "2"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  RunResult r = Crlog({"verify", Path("app.db")});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("seq 2"));
  EXPECT_THAT(r.err, HasSubstr("signature does not match site " + site + "'s key " + other_key));
}

TEST_F(SigningCliTest, AnotherReplicaChecksASiteOnlyOnceItTrustsTheSitesKey) {
  auto [pem, public_key] = Keygen("alice.key");
  std::string alice_site;
  std::string bundle;  // alice's log, as crlog_export hands it to a peer
  {
    auto alice = NewDb("alice.db");
    alice_site = alice->Query("SELECT lower(hex(crsql_site_id()))");
    EXPECT_EQ(alice->Query("SELECT crlog_sign_with(?1)", &pem), public_key);
    alice->Exec("INSERT INTO todo VALUES (1, 'from alice')");
    alice->Exec("INSERT INTO todo VALUES (2, 'also from alice')");
    bundle = alice->Query("SELECT crlog_export()");
  }
  {
    auto bob = NewDb("bob.db");
    EXPECT_EQ(bob->Query("SELECT crlog_apply(?1)", &bundle, /*blob=*/true), "3");
    EXPECT_EQ(bob->Query("SELECT title FROM todo WHERE id = 2"), "also from alice");
  }
  RunResult before = Crlog({"verify", Path("bob.db")});
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("0 good from trusted keys, 2 from sites with no trusted key"));

  // Alice's operator hands Bob's operator her site id and public key.
  RunResult trust = Crlog({"trust", Path("bob.db"), alice_site, public_key, "--from-seq", "2"});
  ASSERT_EQ(trust.exit_code, 0) << trust.err;
  EXPECT_THAT(trust.out, HasSubstr("site " + alice_site + " signs with key " + public_key));
  RunResult after = Crlog({"verify", Path("bob.db")});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, HasSubstr("signatures: 2 good from trusted keys"));
  EXPECT_THAT(after.out, Not(HasSubstr("no trusted key")));
}

TEST_F(SigningCliTest, TrustRefusesADatabaseCrlogDoesNotReplicate) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path("plain.db").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(a)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  RunResult r = Crlog({"trust", Path("plain.db"), std::string(32, 'a'), std::string(64, 'b')});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("not replicated by crlog"));
  RunResult missing = Crlog({"trust", Path("missing.db"), std::string(32, 'a'), std::string(64, 'b')});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_FALSE(fs::exists(Path("missing.db")));
}

}  // namespace
}  // namespace crlog::cli_test
