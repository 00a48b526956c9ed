// Stands in for @vlcn.io/crsqlite's nodejs-helper.js (see
// crsqlite_path_hook.mjs): the same export, pointing at crlog's crsqlite.so.
import { crlogExtension } from "./common.mjs";

export const extensionPath = crlogExtension();
