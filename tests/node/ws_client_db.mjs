// A DB for @vlcn.io/ws-client over the real cr-sqlite 0.16 in Node.
//
// ws-client ships no database; the browser one, @vlcn.io/ws-browserdb's
// createDbProvider, opens its file through IndexedDB, which Node lacks. This
// is that provider's WrappedDB (ws-browserdb 0.2.0, src/index.ts) over a
// crsqlite-wasm DB opened on ":memory:" (crsqlite_wasm.mjs), with the same
// SQL. Its onChange uses the DB's update hook, coalesced to one call per
// turn of the event loop, as @vlcn.io/rx-tbl's onAny does for ws-browserdb.
// `onApplied` (for tests) is called after each batch from the server is in.

const PULL = `SELECT "table", "pk", "cid", "val", "col_version", "db_version", NULL, "cl", seq FROM crsql_changes WHERE db_version > ? AND site_id IS NOT ?`;
const APPLY = `INSERT INTO crsql_changes ("table", "pk", "cid", "val", "col_version", "db_version", "site_id", "cl", "seq") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const TRACK = `INSERT INTO "crsql_tracked_peers" ("site_id", "event", "version", "seq", "tag") VALUES (?, ?, ?, ?, 0) ON CONFLICT DO UPDATE SET
          "version" = MAX("version", excluded."version"),
          "seq" = CASE "version" > excluded."version" WHEN 1 THEN "seq" ELSE excluded."seq" END`;

const firstPick = (rows) => (rows.length === 0 ? undefined : rows[0][0]);

export async function wsClientDB(db, { onApplied = () => {} } = {}) {
  const [pullStmt, applyStmt, trackStmt] = await Promise.all(
    [db.prepare(PULL), db.prepare(APPLY), db.prepare(TRACK)]);
  pullStmt.raw(true);
  const siteid = (await db.execA("SELECT crsql_site_id()"))[0][0];
  const schemaName = firstPick(
    await db.execA("SELECT value FROM crsql_master WHERE key = 'schema_name'"));
  if (schemaName == null) throw new Error("The database does not have a schema applied.");
  const schemaVersion = BigInt(firstPick(
    await db.execA("SELECT value FROM crsql_master WHERE key = 'schema_version'")) || -1);

  const listeners = new Set();
  let pending = null;
  const disposeHook = db.onUpdate((_type, _dbName, tblName) => {
    if (tblName.indexOf("__crsql") !== -1) return;
    if (pending != null) return;
    pending = setTimeout(() => {
      pending = null;
      for (const cb of listeners) cb();
    }, 0);
  });

  let closed = null;
  return {
    siteid,

    async pullChangeset(since, excludeSites, _localOnly) {
      const ret = await pullStmt.all(null, since[0], excludeSites[0]);
      for (const c of ret) {
        c[4] = BigInt(c[4]);
        c[5] = BigInt(c[5]);
        c[7] = BigInt(c[7]);
      }
      return ret;
    },

    async applyChangesetAndSetLastSeen(changes, siteId, end) {
      await db.tx(async (tx) => {
        for (const c of changes) {
          await applyStmt.run(tx, c[0], c[1], c[2], c[3], c[4], c[5], siteId, c[7], c[8]);
        }
        await trackStmt.run(tx, siteId, 0, end[0], end[1]);
      });
      onApplied(changes);
    },

    async getLastSeens() {
      const rows = await db.execA("SELECT site_id, version, seq FROM crsql_tracked_peers");
      return rows.map((r) => [r[0], [BigInt(r[1]), r[2]]]);
    },

    async getSchemaNameAndVersion() {
      return [schemaName, schemaVersion];
    },

    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },

    // ws-client calls this without waiting; `closed` resolves when done.
    close(closeWrappedDB) {
      if (pending != null) clearTimeout(pending);
      disposeHook();
      closed = Promise.all([pullStmt.finalize(null), applyStmt.finalize(null),
                            trackStmt.finalize(null)])
        .then(() => (closeWrappedDB ? db.close() : undefined));
    },

    get closed() {
      return closed;
    },
  };
}
