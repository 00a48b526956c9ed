// Test A: crlog's crsqlite.so inside better-sqlite3 (with better-sqlite3's
// own bundled SQLite, not Debian's libsqlite3), then the crsql_changes sync
// loop of crsql-compat.md, both ways, between that database and the real
// cr-sqlite 0.16 (its wasm build, in this process).
//
//   CRLOG_EXTENSION=build/release/extension/crsqlite.so \
//     node --test tests/node/test_better_sqlite3.mjs

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { crlogExtension, requireSetup, tempDir, typedRows } from "./common.mjs";

requireSetup(["better-sqlite3"]);
const { default: Database } = await import("better-sqlite3");
const { WasmPeer } = await import("./crsqlite_wasm.mjs");

// The same schema on both replicas: an integer pk (the rowid), a text pk,
// and a table whose columns are all pk (it syncs only '-1' entries).
const SCHEMA = `
  CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER,
                      price REAL, data BLOB);
  CREATE TABLE tags (name TEXT PRIMARY KEY NOT NULL, color TEXT);
  CREATE TABLE members (team TEXT NOT NULL, user INTEGER NOT NULL,
                        PRIMARY KEY (team, user));
  SELECT crsql_as_crr('items');
  SELECT crsql_as_crr('tags');
  SELECT crsql_as_crr('members');
`;

const CHANGES_SINCE = `SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq
                         FROM crsql_changes WHERE db_version > ? AND site_id IS NOT ?`;
const APPLY_9 = `INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version,
                                            site_id, cl, seq)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
// What some JavaScript clients send: no seq (cr-sqlite reads it as 0).
const APPLY_8 = `INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version,
                                            site_id, cl)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

const CONTENTS = {
  items: "SELECT id, name, qty, price, data FROM items ORDER BY id",
  tags: "SELECT name, color FROM tags ORDER BY name",
  members: "SELECT team, user FROM members ORDER BY team, user",
};

function openCrlog(dir, name) {
  const db = new Database(join(dir, name));
  db.loadExtension(crlogExtension());
  return db;
}

function closeCrlog(db) {
  db.prepare("SELECT crsql_finalize()").get();
  db.close();
}

test("better-sqlite3 loads crlog; lastInsertRowid is the inserted row's rowid", (t) => {
  const [dir, cleanup] = tempDir("crlog-bs3-");
  t.after(cleanup);
  const db = openCrlog(dir, "rowid.db");
  t.diagnostic(`better-sqlite3's SQLite: ${db.prepare("SELECT sqlite_version()").pluck().get()}`);
  db.exec(SCHEMA);

  const insertItem = db.prepare("INSERT INTO items (name, qty, price, data) VALUES (?, ?, ?, ?)");
  const insertItemWithId = db.prepare("INSERT INTO items (id, name) VALUES (?, ?)");
  const insertTag = db.prepare("INSERT INTO tags (name, color) VALUES (?, ?)");
  const itemRowid = db.prepare("SELECT rowid FROM items WHERE name = ?").pluck();
  const tagRowid = db.prepare("SELECT rowid FROM tags WHERE name = ?").pluck();
  const lastInsertRowid = db.prepare("SELECT last_insert_rowid()").pluck();
  const renameItem = db.prepare("UPDATE items SET name = ? WHERE name = ?");

  // Each insert reports the row it made, like SQLite without the extension:
  // the extension's own bookkeeping must not move last_insert_rowid.
  const check = (info, rowid, what) => {
    assert.equal(info.changes, 1, `${what}: changes`);
    assert.equal(info.lastInsertRowid, rowid, `${what}: lastInsertRowid`);
    assert.equal(lastInsertRowid.get(), rowid, `${what}: SELECT last_insert_rowid()`);
  };

  // Autocommit: every statement commits on its own.
  let info = insertItem.run("a", 1, 1.5, Buffer.from([1, 2]));
  check(info, itemRowid.get("a"), "autocommit insert into items");
  info = insertItem.run("b", 2n, null, null);
  check(info, itemRowid.get("b"), "second autocommit insert into items");
  info = insertTag.run("red", "#f00");
  check(info, tagRowid.get("red"), "autocommit insert into tags (text pk)");
  info = insertItemWithId.run(100, "c");
  check(info, 100, "autocommit insert with an explicit id");
  // An UPDATE leaves last_insert_rowid where the last INSERT put it.
  info = renameItem.run("a2", "a");
  assert.equal(info.changes, 1);
  assert.equal(info.lastInsertRowid, 100, "UPDATE: lastInsertRowid unchanged");

  // Inside one transaction.
  const inTx = db.transaction(() => {
    let i = insertItem.run("d", 4, 4.25, null);
    check(i, itemRowid.get("d"), "insert into items in a transaction");
    i = insertTag.run("green", "#0f0");
    check(i, tagRowid.get("green"), "insert into tags in a transaction");
    i = insertItem.run("e", 5, null, Buffer.alloc(0));
    check(i, itemRowid.get("e"), "second insert into items in a transaction");
    i = renameItem.run("d2", "d");
    assert.equal(i.lastInsertRowid, itemRowid.get("e"), "UPDATE in a transaction");
    return i;
  });
  inTx();
  check(insertItemWithId.run(7, "f"), 7, "autocommit insert after the transaction");

  // The writes were captured.
  const n = db.prepare(`SELECT count(*) FROM crsql_changes WHERE "table" = 'items'`).pluck().get();
  assert.ok(n > 0, "crsql_changes shows the items writes");
  assert.ok(db.prepare("SELECT crsql_db_version()").pluck().get() > 0, "crsql_db_version() moved");
  closeCrlog(db);
});

test("sync loop both ways with the real cr-sqlite 0.16 converges", async (t) => {
  const [dir, cleanup] = tempDir("crlog-bs3-sync-");
  t.after(cleanup);
  const crlog = openCrlog(dir, "crlog.db");
  const peer = await WasmPeer.open();
  crlog.exec(SCHEMA);
  await peer.query(SCHEMA);

  const crlogSite = crlog.prepare("SELECT crsql_site_id()").pluck().get();
  const [[peerSite]] = await peer.query("SELECT crsql_site_id()");
  assert.equal(crlogSite.length, 16);
  assert.equal(peerSite.length, 16);

  // Integers as BigInt, raw rows: nothing lost on the way out of crlog.
  const crlogChanges = crlog.prepare(CHANGES_SINCE).raw(true).safeIntegers(true);
  const crlogApply9 = crlog.prepare(APPLY_9);
  const crlogApply8 = crlog.prepare(APPLY_8);
  // Versions go in as JS numbers, which better-sqlite3 (and WasmPeer) bind
  // as REAL (float64), as JavaScript apps do; values keep their type.
  const asNumbers = (c) => [c[0], c[1], c[2], c[3], Number(c[4]), Number(c[5]), c[6],
                            Number(c[7]), Number(c[8])];
  const applyToCrlog = crlog.transaction((changes, withSeq) => {
    for (const c of changes) {
      const row = asNumbers(c);
      if (withSeq) crlogApply9.run(...row);
      else crlogApply8.run(...row.slice(0, 8));
    }
  });

  // What each side last received from the other (the sender's db_version).
  let fromCrlog = 0n;
  let fromPeer = 0n;
  const maxVersion = (changes, since) =>
    changes.reduce((m, c) => (c[5] > m ? c[5] : m), since);

  // One exchange each way; returns how many changes moved.
  async function syncOnce(withSeq) {
    const out = crlogChanges.all(fromCrlog, peerSite);
    if (out.length > 0) {
      await peer.query("BEGIN");
      for (const c of out) await peer.query(APPLY_9, asNumbers(c));
      await peer.query("COMMIT");
      fromCrlog = maxVersion(out, fromCrlog);
    }
    const back = await peer.query(CHANGES_SINCE, [fromPeer, crlogSite]);
    if (back.length > 0) {
      applyToCrlog(back, withSeq);
      fromPeer = maxVersion(back, fromPeer);
    }
    return out.length + back.length;
  }

  async function syncUntilQuiet(withSeq) {
    let moved = 0;
    for (let round = 0; round < 5; round++) {
      const n = await syncOnce(withSeq);
      if (n === 0) return moved;
      moved += n;
    }
    assert.fail("the sync loop did not go quiet in 5 rounds");
  }

  async function assertConverged(what) {
    for (const [table, sql] of Object.entries(CONTENTS)) {
      const mine = typedRows(crlog.prepare(sql).raw(true).safeIntegers(true).all());
      const theirs = typedRows(await peer.query(sql));
      assert.deepEqual(mine, theirs, `${what}: ${table} differs between crlog and cr-sqlite`);
    }
  }

  // 1. Rows on both sides; crlog's in autocommit and in a transaction. The
  //    first pull into crlog uses the 8-column INSERT (seq omitted).
  const insertItem = crlog.prepare(
    "INSERT INTO items (id, name, qty, price, data) VALUES (?, ?, ?, ?, ?)");
  insertItem.run(1, "one", 1n, 1.5, Buffer.from("01", "hex"));
  crlog.transaction(() => {
    insertItem.run(2, "two", 2n, 2.25, null);
    insertItem.run(3, "three", null, null, Buffer.alloc(0));
    crlog.prepare("INSERT INTO tags VALUES ('red', '#f00')").run();
    crlog.prepare("INSERT INTO members VALUES ('core', 1), ('core', 2)").run();
  })();
  await peer.query(`
    INSERT INTO items VALUES (10, 'ten', 10, 10.5, X'0a0b');
    INSERT INTO items VALUES (11, 'eleven', -11, 0.0, NULL);
    INSERT INTO tags VALUES ('blue', '#00f');
    INSERT INTO members VALUES ('core', 3), ('ops', 1);`);
  assert.ok((await syncUntilQuiet(false)) > 0);
  await assertConverged("after the first sync");

  // 2. Concurrent edits, including the same cell on both sides (equal
  //    col_versions: the greater value, 'peer' > 'crlog', wins), deletes,
  //    and an update of a row the other side made. 9-column INSERT.
  crlog.transaction(() => {
    crlog.prepare("UPDATE items SET name = 'crlog' WHERE id = 1").run();
    crlog.prepare("UPDATE items SET qty = 100 WHERE id = 10").run();
    crlog.prepare("DELETE FROM items WHERE id = 11").run();
    crlog.prepare("DELETE FROM members WHERE team = 'ops'").run();
  })();
  await peer.query(`
    UPDATE items SET name = 'peer' WHERE id = 1;
    UPDATE items SET price = 3.75 WHERE id = 2;
    INSERT INTO items VALUES (12, 'twelve', 12, NULL, X'');
    UPDATE tags SET color = '#ff0000' WHERE name = 'red';`);
  await syncUntilQuiet(true);
  await assertConverged("after concurrent edits");
  const [name1] = crlog.prepare("SELECT name FROM items WHERE id = 1").raw(true).get();
  assert.equal(name1, "peer", "the tie on items(1).name goes to the greater value");
  assert.equal(crlog.prepare("SELECT count(*) FROM items WHERE id = 11").pluck().get(), 0);

  // 3. A deleted row comes back on the peer (causal length 3), crlog deletes
  //    a row the peer made. 8-column INSERT again.
  await peer.query(`
    INSERT INTO items VALUES (11, 'eleven again', 11, 11.5, NULL);
    INSERT INTO members VALUES ('ops', 1);`);
  crlog.prepare("DELETE FROM tags WHERE name = 'blue'").run();
  await syncUntilQuiet(false);
  await assertConverged("after a delete and a re-insert");
  assert.deepEqual(typedRows(crlog.prepare("SELECT name FROM items WHERE id = 11")
                                  .raw(true).all()), [["TEXT \"eleven again\""]]);

  closeCrlog(crlog);
  await peer.close();
});
