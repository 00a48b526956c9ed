// What the tests in tests/node/ share: checks that setup ran, the path of
// crlog's extension, value normalisation for comparing two databases, and
// bounded waits.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));

// Throws, saying to run scripts/setup.sh, when tests/node's npm packages
// (or better-sqlite3's native build) are missing. Call it before importing
// them: a static import of a missing package fails with a bare
// ERR_MODULE_NOT_FOUND.
export function requireSetup(packages) {
  for (const p of packages) {
    if (!existsSync(join(HERE, "node_modules", p, "package.json"))) {
      throw new Error(`tests/node/node_modules/${p} is missing: run scripts/setup.sh`);
    }
  }
  if (packages.includes("better-sqlite3") &&
      !existsSync(join(HERE, "node_modules", "better-sqlite3", "build", "Release",
                       "better_sqlite3.node"))) {
    throw new Error(
      "better-sqlite3 is installed but not built (no build/Release/better_sqlite3.node): " +
      "run scripts/setup.sh");
  }
}

// crlog's crsqlite.so, from CRLOG_EXTENSION (ctest sets it to the built
// target).
export function crlogExtension() {
  const path = process.env.CRLOG_EXTENSION;
  if (!path) throw new Error("set CRLOG_EXTENSION to the path of crlog's crsqlite.so");
  if (!existsSync(path)) throw new Error(`CRLOG_EXTENSION=${path} does not exist`);
  return path;
}

// A fresh temporary folder, removed by the returned cleanup function.
export function tempDir(prefix) {
  const dir = mkdtempSync(join(process.env.CRLOG_NODE_TMP || tmpdir(), prefix));
  return [dir, () => rmSync(dir, { recursive: true, force: true })];
}

// One SQL value as a comparable, printable string that keeps its SQLite
// type: integers arrive as BigInt (better-sqlite3 with safeIntegers, or
// WasmPeer), reals as number, text as string, blobs as Uint8Array/Buffer.
export function typed(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "bigint") return `INTEGER ${v}`;
  if (typeof v === "number") return `REAL ${Object.is(v, -0) ? "-0" : String(v)}`;
  if (typeof v === "string") return `TEXT ${JSON.stringify(v)}`;
  if (v instanceof Uint8Array) return `BLOB x'${Buffer.from(v).toString("hex")}'`;
  throw new Error(`unexpected value ${v}`);
}

export const typedRows = (rows) => rows.map((r) => r.map(typed));

// Resolves with the promise's value, or rejects after `ms` saying what was
// awaited (and, through `detail()`, what was seen meanwhile).
export function withTimeout(promise, ms, what, detail = () => "") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const d = detail();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}${d ? `: ${d}` : ""}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
