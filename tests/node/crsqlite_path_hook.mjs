// A module resolve hook (node:module register()) that answers imports of
// "@vlcn.io/crsqlite" with crsqlite_extension_path.mjs, whose extensionPath
// is crlog's build (CRLOG_EXTENSION).
//
// @vlcn.io/ws-server loads its extension from `extensionPath` of
// @vlcn.io/crsqlite (nodejs-helper.js: node_modules/@vlcn.io/crsqlite/
// dist/crsqlite), a file that package's install script downloads and that
// setup never lets it fetch (scripts/setup.sh installs with
// --ignore-scripts); ws-server's Config has no setting for it.
const target = new URL("./crsqlite_extension_path.mjs", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "@vlcn.io/crsqlite") return { url: target, shortCircuit: true };
  return nextResolve(specifier, context);
}
