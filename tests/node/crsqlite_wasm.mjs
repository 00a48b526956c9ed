// The real cr-sqlite 0.16 (@vlcn.io/crsqlite-wasm, its WebAssembly build)
// in this Node process, from tests/peer/node_modules: the copy, at the
// versions pinned in tests/peer/package-lock.json, that the Python
// mixed-network tests run as a child (tests/peer/crsqlite_peer.mjs).
//
// It is created the way crsqlite_peer.mjs creates it: the package's default
// init (dist/index.js's initWasm) registers an IndexedDB VFS, which Node
// lacks, so the Emscripten module is built from dist/crsqlite.mjs with the
// wasm bytes read from disk, wrapped by @vlcn.io/wa-sqlite's Factory, and
// ":memory:" is opened on the default VFS.
//
//   openWasmDB()  the package's own DB class (execA, prepare, tx, onUpdate,
//                 automigrateTo, close), through its exported SQLite3 class,
//                 as a browser app holds it; ws-client's provider wraps it.
//   WasmPeer      the raw wa-sqlite API on one ":memory:" database, reading
//                 and binding by SQLite type (integers as BigInt), so a test
//                 can tell 3 from 3.0 and control what it binds.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const PEER_DIR = resolve(HERE, "..", "peer");
const peerRequire = createRequire(join(PEER_DIR, "package.json"));

if (!existsSync(join(PEER_DIR, "node_modules", "@vlcn.io", "crsqlite-wasm"))) {
  throw new Error(
    "tests/peer/node_modules is missing (cr-sqlite's wasm package): run scripts/setup.sh");
}

const wasmPath = peerRequire.resolve("@vlcn.io/crsqlite-wasm/crsqlite.wasm");
const distDir = dirname(wasmPath);
const SQLite = await import(pathToFileURL(peerRequire.resolve("@vlcn.io/wa-sqlite")).href);
const { SQLite3 } = await import(pathToFileURL(peerRequire.resolve("@vlcn.io/crsqlite-wasm")).href);
const { default: ModuleFactory } = await import(pathToFileURL(join(distDir, "crsqlite.mjs")).href);
const wasmBinary = readFileSync(wasmPath);

export { SQLite };

// A new WebAssembly instance of SQLite + cr-sqlite 0.16, wrapped by
// wa-sqlite's Factory.
export async function createApi() {
  const module = await ModuleFactory({
    wasmBinary,
    locateFile: (file) => join(distDir, file),
    print: (s) => process.stderr.write(`${s}\n`),
    printErr: (s) => process.stderr.write(`${s}\n`),
  });
  return { module, api: SQLite.Factory(module) };
}

// crsqlite-wasm's DB on ":memory:" (SQLite3.open() without a file name
// uses the default VFS), in an instance of its own.
export async function openWasmDB() {
  const { api } = await createApi();
  return new SQLite3(api).open();
}

export class WasmPeer {
  static async open() {
    const { module, api } = await createApi();
    const db = await api.open_v2(
      ":memory:", SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE);
    return new WasmPeer(module, api, db);
  }

  constructor(module, api, db) {
    this.module = module;
    this.api = api;
    this.db = db;
  }

  // Binds by JS type: BigInt as an integer, number as a REAL (as
  // better-sqlite3 does; wa-sqlite's own bind() would make 3 an integer),
  // Uint8Array as a blob, string as text, null as NULL.
  #bind(stmt, i, v) {
    const api = this.api;
    if (typeof v === "number") return api.bind_double(stmt, i, v);
    if (typeof v === "bigint") return api.bind_int64(stmt, i, v);
    if (v instanceof Uint8Array && v.byteLength === 0) {
      // wa-sqlite hands sqlite3_bind_blob the pointer of a 0-byte malloc,
      // which is NULL, and SQLite then binds NULL instead of X''.
      const ptr = this.module._sqlite3_malloc(1);
      return this.module._sqlite3_bind_blob(stmt, i, ptr, 0, this.module._getSqliteFree());
    }
    return api.bind(stmt, i, v);
  }

  #column(stmt, i) {
    const api = this.api;
    switch (api.column_type(stmt, i)) {
      case SQLite.SQLITE_NULL: return null;
      case SQLite.SQLITE_INTEGER: return BigInt(api.column_int64(stmt, i));
      case SQLite.SQLITE_FLOAT: return api.column_double(stmt, i);
      case SQLite.SQLITE_TEXT: return api.column_text(stmt, i);
      case SQLite.SQLITE_BLOB: return Uint8Array.from(api.column_blob(stmt, i));
      default: throw new Error("unknown column type");
    }
  }

  // Runs every statement of `sql`, binding `params` in order; returns the
  // rows of all of them, each an array.
  async query(sql, params = []) {
    const rows = [];
    let next = 0;
    for await (const stmt of this.api.statements(this.db, sql)) {
      const n = this.api.bind_parameter_count(stmt);
      for (let i = 1; i <= n; i++) this.#bind(stmt, i, params[next++]);
      while ((await this.api.step(stmt)) === SQLite.SQLITE_ROW) {
        const row = [];
        for (let i = 0; i < this.api.column_count(stmt); i++) row.push(this.#column(stmt, i));
        rows.push(row);
      }
    }
    if (next !== params.length) {
      throw new Error(`${params.length} parameters given, statements used ${next}`);
    }
    return rows;
  }

  async close() {
    await this.query("SELECT crsql_finalize()");
    await this.api.close(this.db);
  }
}
