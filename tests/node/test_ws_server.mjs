// Test B: vlcn's sync server, @vlcn.io/ws-server 0.2.3, in this process on
// 127.0.0.1 (an ephemeral port), its rooms' databases opened by its own
// better-sqlite3 with crlog's crsqlite.so; two @vlcn.io/ws-client 0.2.0
// clients, each on the real cr-sqlite 0.16 (wasm), sync through it:
// client 1 -> server -> client 2, then client 2 -> server -> client 1.
//
//   CRLOG_EXTENSION=build/release/extension/crsqlite.so \
//     node --test tests/node/test_ws_server.mjs
//
// ws-server's SQL against the extension (its src/DB.ts), in order:
//   PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL
//   SELECT value FROM crsql_master WHERE key = 'schema_name'
//   -- a new database: the schema file's text by db.exec, then in the same
//   -- transaction
//   INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_version', ?)
//   INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_name', ?)
//   -- or, for an existing one:
//   SELECT value FROM crsql_master WHERE key = 'schema_version'
//   SELECT crsql_automigrate(?)   -- when the client's version differs
//   SELECT version, seq FROM crsql_tracked_peers WHERE site_id = ? AND tag = 0 AND event = 0
//   SELECT "table", "pk", "cid", "val", "col_version", "db_version", NULL, "cl", "seq"
//     FROM "crsql_changes" WHERE "db_version" > ? AND "site_id" IS NOT ?
//   INSERT INTO crsql_changes (... 9 columns ...) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
//   SELECT crsql_site_id()
//   INSERT INTO crsql_tracked_peers (site_id, tag, event, version, seq) VALUES (?, 0, 0, ?, ?)
//     ON CONFLICT DO UPDATE SET "version" = MAX("version", excluded."version"),
//     "seq" = CASE "version" > excluded."version" WHEN 1 THEN "seq" ELSE excluded."seq" END
//   SELECT crsql_finalize()       -- when the last connection of a room leaves
// All of them but the schema's are prepared when the room's DB is made, so
// a missing table or function fails the connection before any change moves.
// Every SQL text ws-server gives better-sqlite3 is recorded here, and shown
// with the error when something fails.

import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { register } from "node:module";
import { join } from "node:path";
import { test } from "node:test";

import { crlogExtension, requireSetup, tempDir, withTimeout } from "./common.mjs";

requireSetup(["better-sqlite3", "@vlcn.io/ws-server", "@vlcn.io/ws-client",
              "@vlcn.io/ws-common", "ws"]);
crlogExtension();
// Before ws-server is imported: its "@vlcn.io/crsqlite" is crlog's build.
register("./crsqlite_path_hook.mjs", import.meta.url);

const { default: Database } = await import("better-sqlite3");
const { WebSocket } = await import("ws");
const { attachWebsocketServer, internal } = await import("@vlcn.io/ws-server");
const { createSyncedDB, defaultConfig } = await import("@vlcn.io/ws-client");
const { cryb64 } = await import("@vlcn.io/ws-common");
const { openWasmDB } = await import("./crsqlite_wasm.mjs");
const { wsClientDB } = await import("./ws_client_db.mjs");

// ws-client's WebSocketTransport uses the browser's global WebSocket; Node
// 20 has none without a flag. The ws package's class has the same API.
globalThis.WebSocket = WebSocket;

const WAIT_MS = 20000;
const SCHEMA_NAME = "items_schema";
const SCHEMA = `CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER);
SELECT crsql_as_crr('items');
`;
// The same schema with a column more (crsql_automigrate adds it).
const SCHEMA_V2 = `CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, note TEXT);
SELECT crsql_as_crr('items');
`;
// typeof() keeps 3 and 3.0 apart although JavaScript reads both as 3.
const ITEMS = "SELECT id, name, qty, typeof(qty) FROM items ORDER BY id";

// The SQL ws-server hands better-sqlite3 (one better-sqlite3 module is
// installed: tests/node's package.json overrides ws-server's ^9.2.2 with
// 12.11.1, so its Database is this one).
const sqlLog = [];
const unloggedPrepare = Database.prototype.prepare;
for (const method of ["prepare", "exec", "pragma"]) {
  const original = Database.prototype[method];
  Database.prototype[method] = function (sql, ...rest) {
    sqlLog.push(`${method}: ${String(sql).trim().replace(/\s+/g, " ")}`);
    try {
      return original.call(this, sql, ...rest);
    } catch (e) {
      sqlLog.push(`  -> ${e.code ?? "error"}: ${e.message}`);
      throw e;
    }
  };
}
const originalLoad = Database.prototype.loadExtension;
Database.prototype.loadExtension = function (path, ...rest) {
  sqlLog.push(`loadExtension: ${path}`);
  return originalLoad.call(this, path, ...rest);
};

// ws-server's own DB class, observed: the test hears when a batch from a
// client is applied and when a room's DB closes, and keeps the error when
// one cannot be made (ws-server only logs it and leaves the socket open).
const server = new EventEmitter();
const serverErrors = [];
class ObservedDB extends internal.DB {
  async applyChangesetAndSetLastSeen(changes, siteId, newLastSeen) {
    await super.applyChangesetAndSetLastSeen(changes, siteId, newLastSeen);
    server.emit("applied", changes);
  }

  close() {
    super.close();
    server.emit("closed", this);
  }
}
const dbFactory = {
  async createDB(config, fsnotify, room, schemaName, schemaVersion) {
    try {
      const db = new ObservedDB(config, fsnotify, room, schemaName, schemaVersion);
      server.emit("db", db);
      return db;
    } catch (e) {
      serverErrors.push(e);
      server.emit("error-in-db", e);
      throw e;
    }
  },
};

function describeServer() {
  const errs = serverErrors.map((e) => `server error: ${e.message}`).join("\n");
  return `${errs}\nSQL ws-server ran:\n  ${sqlLog.join("\n  ")}`;
}

// Resolves once `check()` is true: checked now and after each `event` on
// `emitter`; rejects on a server-side error or after WAIT_MS. A non-true
// result is kept to show on a timeout.
function until(what, emitter, event, check) {
  let last = "";
  let test, fail;
  const done = new Promise((resolve, reject) => {
    fail = (e) => reject(new Error(`${what}: the server failed: ${e.message}\n${describeServer()}`));
    test = async () => {
      try {
        const r = await check();
        if (r === true) resolve(); else last = r;
      } catch (e) { reject(e); }
    };
    emitter.on(event, test);
    server.on("error-in-db", fail);
    if (serverErrors.length > 0) fail(serverErrors[0]);
    else test();
  });
  return withTimeout(done, WAIT_MS, what,
                     () => `last seen ${JSON.stringify(last)}\n${describeServer()}`)
    .finally(() => {
      emitter.off(event, test);
      server.off("error-in-db", fail);
    });
}

async function rows(db, sql = ITEMS) {
  return (await db.execA(sql)).map((r) => r.map((v) => (typeof v === "bigint" ? Number(v) : v)));
}

// The test's own reads of a room's database (not in the SQL log).
const serverQuery = (db, sql) => unloggedPrepare.call(db.getDB(), sql);

function serverRows(db, sql = ITEMS) {
  return serverQuery(db, sql).raw(true).all();
}

// A client: the real cr-sqlite (wasm) with the schema applied the way a vlcn
// app does (DB.automigrateTo), synced by ws-client.
async function startClient(url, room, schema = SCHEMA) {
  const db = await openWasmDB();
  assert.equal(await db.automigrateTo(SCHEMA_NAME, schema), "apply");
  const events = new EventEmitter();
  const wrapped = await wsClientDB(db, { onApplied: (c) => events.emit("applied", c) });
  const synced = await createSyncedDB(
    { dbProvider: async () => wrapped, transportProvider: defaultConfig.transportProvider },
    room, { url, room });
  await synced.start();
  return { db, events, wrapped, synced };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Waits until the client's items are `want` (checked after each batch it
// applies).
function clientHas(client, want, what, sql = ITEMS) {
  return until(what, client.events, "applied", async () => {
    const r = await rows(client.db, sql);
    return same(r, want) || r;
  });
}

// ws-server on 127.0.0.1, an ephemeral port, with `config`; `fsnotify` as
// attachWebsocketServer's customFsNotify (null: ws-server's in-process
// notification, which it uses for in-memory rooms). Returns its ws:// URL
// and a stop() that closes the clients given, waits for the room's DB to
// close (ws-server closes it, with crsql_finalize, when its last socket
// goes), and stops the server.
async function startServer(t, config, fsnotify) {
  sqlLog.length = 0;
  serverErrors.length = 0;
  const http = createServer();
  const dbCache = attachWebsocketServer(http, config, dbFactory, fsnotify);
  http.listen(0, "127.0.0.1");
  await withTimeout(once(http, "listening"), WAIT_MS, "the HTTP server to listen");
  const url = `ws://127.0.0.1:${http.address().port}/sync`;
  const state = { url, db: null, clients: [] };
  const onDB = (db) => { state.db = db; };
  server.on("db", onDB);
  state.stop = async (room) => {
    if (state.stopped) return;
    state.stopped = true;
    const closed = state.db != null && dbCache.__tests_only_checkRef(room) > 0
      ? withTimeout(once(server, "closed"), WAIT_MS, "the room's DB to close") : null;
    for (const c of state.clients) c.synced.stop();
    await Promise.all(state.clients.map((c) => c.wrapped.closed));
    state.clients = [];
    if (closed) await closed.catch((e) => t.diagnostic(e.message));
    await dbCache.destroy().catch((e) => t.diagnostic(`closing the DB cache: ${e.message}`));
    server.off("db", onDB);
    await new Promise((resolve) => { http.close(resolve); http.closeAllConnections(); });
  };
  state.connect = async (room, schema) => {
    const c = await startClient(url, room, schema);
    state.clients.push(c);
    return c;
  };
  return state;
}

function schemaFolderIn(dir) {
  const schemaFolder = join(dir, "schemas");
  mkdirSync(schemaFolder);
  writeFileSync(join(schemaFolder, SCHEMA_NAME), SCHEMA);
  return schemaFolder;
}

// A file-backed room on `dir`: config and ws-server's own FSNotify, made
// here so the test can stop it.
async function fileRoomConfig(t, dir) {
  const dbFolder = join(dir, "dbs");
  mkdirSync(dbFolder);
  const config = {
    dbFolder, schemaFolder: schemaFolderIn(dir), pathPattern: /\/sync/,
    appName: "crlog-test", notifyLatencyMs: 10,
  };
  const fsnotify = new internal.FSNotify(config);
  t.after(() => fsnotify.shutdown());
  await withTimeout(once(fsnotify.watcher, "ready"), WAIT_MS, "FSNotify's watcher to be ready");
  return [config, fsnotify];
}

test("ws-server with crlog relays rows live between two ws-client clients on cr-sqlite", async (t) => {
  // In-memory rooms (dbFolder null): ws-server tells a room's outbound
  // streams of each change in-process, so every step here is an event.
  // (With a dbFolder it relies on chokidar seeing the -wal file change,
  // which drops changes: its 'change' events are throttled with no
  // trailing call, and a -wal created after the watcher started is only
  // 'add'ed. The file-backed test below needs no such notification.)
  const [dir, cleanup] = tempDir("crlog-ws-server-");
  t.after(cleanup);
  const config = {
    dbFolder: null, schemaFolder: schemaFolderIn(dir), pathPattern: /\/sync/,
    appName: "crlog-test", notifyLatencyMs: 10,
  };
  const room = "room1";
  const srv = await startServer(t, config, null);
  t.after(() => srv.stop(room));

  // Client 1 writes before it connects; the server takes its rows.
  const c1 = await srv.connect(room);
  await c1.db.exec("INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', NULL)");
  const want1 = await rows(c1.db);
  await until("client 1's rows on the server", server, "applied", () =>
    srv.db != null && (same(serverRows(srv.db), want1) || serverRows(srv.db)));
  assert.equal(srv.db.schemaName, SCHEMA_NAME);
  assert.equal(srv.db.schemaVersion, cryb64(SCHEMA));

  // Client 2 connects and gets them.
  const c2 = await srv.connect(room);
  await clientHas(c2, want1, "client 1's rows on client 2");

  // Live: client 1 writes while both are connected.
  await c1.db.exec("INSERT INTO items VALUES (4, 'four', 4)");
  await c1.db.exec("UPDATE items SET name = 'ONE', qty = 10 WHERE id = 1");
  const want2 = await rows(c1.db);
  await clientHas(c2, want2, "client 1's new writes on client 2");

  // And back: client 2 -> server -> client 1.
  await c2.db.exec("INSERT INTO items VALUES (5, 'five', 5)");
  await c2.db.exec("DELETE FROM items WHERE id = 2");
  const want3 = await rows(c2.db);
  await clientHas(c1, want3, "client 2's writes on client 1");

  // The server's own table (crlog) holds the same rows, with the same types.
  assert.deepEqual(serverRows(srv.db), want3);
  assert.deepEqual(want3.map((r) => r[0]), [1, 3, 4, 5]);
  t.diagnostic("SQL ws-server ran:");
  for (const line of sqlLog) t.diagnostic(`  ${line}`);
});

test("ws-server with crlog keeps a room in a file and reopens it", async (t) => {
  // A dbFolder: each room is a database file that ws-server opens with WAL.
  const [dir, cleanup] = tempDir("crlog-ws-server-file-");
  t.after(cleanup);
  const [config, fsnotify] = await fileRoomConfig(t, dir);
  const room = "room2";

  // A new room: ws-server applies the schema file and records it in
  // crsql_master; client 1's rows land in the file.
  let srv = await startServer(t, config, fsnotify);
  const first = srv;
  t.after(() => first.stop(room));
  const c1 = await srv.connect(room);
  await c1.db.exec("INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2.5), (3, 'three', NULL)");
  const want = await rows(c1.db);
  await until("client 1's rows on the server", server, "applied", () =>
    srv.db != null && (same(serverRows(srv.db), want) || serverRows(srv.db)));
  // A client that connects later gets them when its stream starts.
  const c2 = await srv.connect(room);
  await clientHas(c2, want, "client 1's rows on client 2");
  await srv.stop(room);

  // The room again, from its file: ws-server reads schema_name and
  // schema_version back from crsql_master, and a new client gets the rows.
  srv = await startServer(t, config, fsnotify);
  const second = srv;
  t.after(() => second.stop(room));
  const c3 = await srv.connect(room);
  await clientHas(c3, want, "the stored rows on a client of the reopened room");
  assert.deepEqual(serverRows(srv.db), want);
  assert.equal(srv.db.schemaVersion, cryb64(SCHEMA));
  assert.ok(sqlLog.some((s) => s.includes("key = 'schema_version'")),
            "the reopened room read schema_version from crsql_master");
  t.diagnostic("SQL ws-server ran on reopening:");
  for (const line of sqlLog) t.diagnostic(`  ${line}`);
});

test("ws-server with crlog migrates a room to a new schema version (crsql_automigrate)", async (t) => {
  // A client on a newer schema (the file in schemaFolder changed, so its
  // cryb64 version differs from the room's): ws-server runs
  // SELECT crsql_automigrate(<the new schema>) on the room's database in a
  // transaction and stores the new schema_version. cr-sqlite adds the new
  // column to the replicated table; old rows keep theirs.
  const [dir, cleanup] = tempDir("crlog-ws-server-migrate-");
  t.after(cleanup);
  const [config, fsnotify] = await fileRoomConfig(t, dir);
  const room = "room3";

  let srv = await startServer(t, config, fsnotify);
  const first = srv;
  t.after(() => first.stop(room));
  const c1 = await srv.connect(room);
  await c1.db.exec("INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2)");
  const want = await rows(c1.db);
  await until("client 1's rows on the server", server, "applied", () =>
    srv.db != null && (same(serverRows(srv.db), want) || serverRows(srv.db)));
  await srv.stop(room);

  writeFileSync(join(config.schemaFolder, SCHEMA_NAME), SCHEMA_V2);
  srv = await startServer(t, config, fsnotify);
  const second = srv;
  t.after(() => second.stop(room));
  const c2 = await srv.connect(room, SCHEMA_V2);
  const ITEMS_V2 = "SELECT id, name, qty, typeof(qty), note FROM items ORDER BY id";
  await clientHas(c2, want.map((r) => [...r, null]), "the room's rows on a client of the new schema",
                  ITEMS_V2);
  assert.equal(srv.db.schemaVersion, cryb64(SCHEMA_V2));
  assert.ok(sqlLog.some((s) => s.includes("crsql_automigrate")), "ws-server ran crsql_automigrate");
  const version = serverQuery(srv.db, "SELECT value FROM crsql_master WHERE key = 'schema_version'")
    .safeIntegers(true).pluck().get();
  assert.equal(version, cryb64(SCHEMA_V2));

  // The new column syncs: client 2 -> server (crlog).
  await c2.db.exec("INSERT INTO items VALUES (3, 'three', 3, 'new')");
  await c2.db.exec("UPDATE items SET note = 'old row' WHERE id = 1");
  const want2 = await rows(c2.db, ITEMS_V2);
  await until("client 2's rows (with the new column) on the server", server, "applied", () =>
    same(serverRows(srv.db, ITEMS_V2), want2) || serverRows(srv.db, ITEMS_V2));
  t.diagnostic("SQL ws-server ran on migrating:");
  for (const line of sqlLog) t.diagnostic(`  ${line}`);
});
