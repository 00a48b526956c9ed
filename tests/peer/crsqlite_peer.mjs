// The real cr-sqlite 0.16 (the WebAssembly build in @vlcn.io/crsqlite-wasm)
// as a test peer under Node, one in-memory database per process.
//
// Protocol: one JSON request per stdin line, one JSON response per stdout
// line, in order.
//   {"sql": "...", "params": [...]}      -> {"rows": [[...], ...]}
//   {"sql": "...", "many": [[...], ...]} -> {"rows": [...]}  (one statement,
//                                           run once per parameter list)
//   anything that fails                  -> {"error": "<sqlite message>"}
// "sql" may hold several statements; "params" are bound to them in order,
// each statement taking as many as it has parameters; "rows" are the rows of
// every statement, concatenated.
// Values: null, JSON strings (text), {"$blob": "<hex>"}, and numbers. To keep
// integers and reals apart and integers exact, requests send integers as
// {"$int": "<decimal>"} and reals as JSON numbers (or {"$real": "Infinity"}
// and the like); responses write integers as JSON integer literals (any
// size, exact) and reals always with a '.', an exponent, or as
// Infinity/-Infinity/NaN, which Python's json module reads as floats.
//
// The package's default init (dist/index.js) registers an IndexedDB VFS,
// which Node lacks; instead the Emscripten module is created from
// dist/crsqlite.mjs with the wasm bytes read from disk, wrapped by
// @vlcn.io/wa-sqlite's Factory, and ":memory:" is opened on the default VFS.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

import * as SQLite from "@vlcn.io/wa-sqlite";

const require = createRequire(import.meta.url);
// The package exports only "." and "./crsqlite.wasm": find dist/ through the
// latter.
const wasmPath = require.resolve("@vlcn.io/crsqlite-wasm/crsqlite.wasm");
const distDir = dirname(wasmPath);
const { default: ModuleFactory } = await import(join(distDir, "crsqlite.mjs"));

const wasmBinary = readFileSync(wasmPath);
const module = await ModuleFactory({
  wasmBinary,
  locateFile: (file) => join(distDir, file),
  print: (s) => process.stderr.write(`${s}\n`),
  printErr: (s) => process.stderr.write(`${s}\n`),
});
const api = SQLite.Factory(module);
const sqliteFree = module._getSqliteFree();
const db = await api.open_v2(
  ":memory:", SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE);

function decodeValue(v) {
  if (v === null || typeof v === "string") return v;
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return BigInt(v ? 1 : 0);
  if (typeof v === "object") {
    if ("$int" in v) return BigInt(v.$int);
    if ("$blob" in v) return Uint8Array.from(Buffer.from(v.$blob, "hex"));
    if ("$real" in v) return Number(v.$real);
  }
  throw new Error(`cannot bind ${JSON.stringify(v)}`);
}

function bindValue(stmt, i, v) {
  // wa-sqlite's bind() would bind a whole-valued number as an integer; bind
  // by the type the request said instead.
  if (typeof v === "number") return api.bind_double(stmt, i, v);
  if (typeof v === "bigint") return api.bind_int64(stmt, i, v);
  if (v instanceof Uint8Array && v.byteLength === 0) {
    // wa-sqlite hands sqlite3_bind_blob the pointer of a 0-byte malloc,
    // which is NULL, and SQLite then binds NULL instead of X''.
    const ptr = module._sqlite3_malloc(1);
    const rc = module._sqlite3_bind_blob(stmt, i, ptr, 0, sqliteFree);
    if (rc !== SQLite.SQLITE_OK) throw new Error(`bind_blob: ${rc}`);
    return rc;
  }
  return api.bind(stmt, i, v);
}

function encodeValue(stmt, i) {
  switch (api.column_type(stmt, i)) {
    case SQLite.SQLITE_NULL:
      return "null";
    case SQLite.SQLITE_INTEGER:
      return api.column_int64(stmt, i).toString();
    case SQLite.SQLITE_FLOAT: {
      const d = api.column_double(stmt, i);
      if (Number.isNaN(d)) return "NaN";
      if (!Number.isFinite(d)) return d > 0 ? "Infinity" : "-Infinity";
      const s = String(d);
      return /[.eE]/.test(s) ? s : `${s}.0`;
    }
    case SQLite.SQLITE_TEXT:
      return JSON.stringify(api.column_text(stmt, i));
    case SQLite.SQLITE_BLOB:
      return `{"$blob":"${Buffer.from(api.column_blob(stmt, i)).toString("hex")}"}`;
    default:
      throw new Error("unknown column type");
  }
}

// Runs every statement of `sql`, binding `params` in order; appends each
// result row, already encoded as JSON text, to `out`.
async function run(sql, params, out) {
  let next = 0;
  for await (const stmt of api.statements(db, sql)) {
    const n = api.bind_parameter_count(stmt);
    if (next + n > params.length) {
      throw new Error(`statement wants ${n} parameters, ${params.length - next} left`);
    }
    for (let i = 1; i <= n; i++) bindValue(stmt, i, params[next++]);
    while ((await api.step(stmt)) === SQLite.SQLITE_ROW) {
      const cols = api.column_count(stmt);
      const row = [];
      for (let i = 0; i < cols; i++) row.push(encodeValue(stmt, i));
      out.push(`[${row.join(",")}]`);
    }
  }
  if (next !== params.length) {
    throw new Error(`${params.length} parameters given, statements used ${next}`);
  }
}

async function handle(line) {
  const req = JSON.parse(line);
  if (typeof req.sql !== "string") throw new Error('request needs "sql"');
  const out = [];
  if (Array.isArray(req.many)) {
    for (const params of req.many) await run(req.sql, params.map(decodeValue), out);
  } else {
    await run(req.sql, (req.params ?? []).map(decodeValue), out);
  }
  return `{"rows":[${out.join(",")}]}`;
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === "") continue;
  let response;
  try {
    response = await handle(line);
  } catch (e) {
    response = JSON.stringify({ error: String(e && e.message ? e.message : e) });
  }
  process.stdout.write(`${response}\n`);
}
// stdin closed: finalize cr-sqlite and close the database.
try {
  await api.exec(db, "SELECT crsql_finalize()");
  await api.close(db);
} catch (e) {
  process.stderr.write(`close: ${e && e.message ? e.message : e}\n`);
  process.exitCode = 1;
}
