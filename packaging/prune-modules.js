#!/usr/bin/env node
// Prunes a production node_modules to what diycloud runs with: the packages reachable from package.json's
// "dependencies" through their own "dependencies", less the ones only an addon's install step uses, and
// without the files no program reads (tests, examples, lint and CI configuration, build leftovers).
// Usage: node prune-modules.js PACKAGE_JSON NODE_MODULES_DIR       (prints what it removed, to stderr)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// prebuild-install downloads a prebuilt better-sqlite3 binary at "npm install" time; the packages build the
// addon from source in each distribution's build root instead, so neither it nor its dependencies ever run.
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);
// Not read at run time, and lintian objects to several (package-contains-npm-ignore-file,
// package-contains-eslint-config-file, embedded-javascript-library in test fixtures).
const JUNK_DIRS = new Set(['test', 'tests', '__tests__', 'example', 'examples', '.github', 'benchmark', 'benchmarks', 'node_gyp_bins']);
const JUNK_FILE = /^(\.npmignore|\.eslintrc(\..*)?|\.eslintignore|\.travis\.yml|\.jshintrc|\.editorconfig|\.gitattributes|\.nycrc|\.prettierrc(\..*)?|\.airtap\.yml|\.zuul\.yml|Makefile|.*\.mk|.*\.gypi?|.*\.target\.mk|config\.gypi)$/;

const [pkgJson, modulesDir] = process.argv.slice(2);
if (!pkgJson || !modulesDir) { console.error('usage: prune-modules.js PACKAGE_JSON NODE_MODULES_DIR'); process.exit(2); }
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

// npm installs a flat tree here (no nested node_modules with other versions: checked below).
const keep = new Set();
const queue = Object.keys(readJson(pkgJson).dependencies ?? {});
while (queue.length) {
  const name = queue.shift();
  if (keep.has(name) || INSTALL_TIME_ONLY.has(name)) continue;
  const manifest = path.join(modulesDir, name, 'package.json');
  if (!fs.existsSync(manifest)) { console.error(`prune-modules: ${name} is needed but missing from ${modulesDir}`); process.exit(1); }
  keep.add(name);
  const m = readJson(manifest);
  queue.push(...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {}).filter((d) => fs.existsSync(path.join(modulesDir, d))));
}

const installed = [];
for (const entry of fs.readdirSync(modulesDir)) {
  if (entry.startsWith('.')) { if (entry !== '.bin') fs.rmSync(path.join(modulesDir, entry), { recursive: true, force: true }); continue; }
  if (entry.startsWith('@')) for (const sub of fs.readdirSync(path.join(modulesDir, entry))) installed.push(`${entry}/${sub}`);
  else installed.push(entry);
}
for (const name of installed) {
  if (keep.has(name)) continue;
  fs.rmSync(path.join(modulesDir, name), { recursive: true, force: true });
  console.error(`prune-modules: removed ${name} (not needed at run time)`);
}
for (const scope of fs.readdirSync(modulesDir).filter((e) => e.startsWith('@'))) {
  if (fs.readdirSync(path.join(modulesDir, scope)).length === 0) fs.rmdirSync(path.join(modulesDir, scope));
}
// .bin holds links to the removed packages' commands; diycloud runs none of them.
fs.rmSync(path.join(modulesDir, '.bin'), { recursive: true, force: true });

let junk = 0;
// A native addon needs only its compiled .node file: node-gyp's objects, makefiles and static archives
// (SQLite's sqlite3.a), and the C and C++ sources it was built from, stay behind.
for (const name of keep) {
  const dir = path.join(modulesDir, name);
  if (!fs.existsSync(path.join(dir, 'binding.gyp'))) continue;
  for (const sub of ['deps', 'src']) { fs.rmSync(path.join(dir, sub), { recursive: true, force: true }); junk++; }
  const build = path.join(dir, 'build');
  if (!fs.existsSync(build)) continue;
  for (const e of fs.readdirSync(build)) if (e !== 'Release') { fs.rmSync(path.join(build, e), { recursive: true, force: true }); junk++; }
  const release = path.join(build, 'Release');
  for (const e of fs.existsSync(release) ? fs.readdirSync(release) : []) {
    if (!e.endsWith('.node') || e === 'test_extension.node') { fs.rmSync(path.join(release, e), { recursive: true, force: true }); junk++; }
  }
}
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules') { console.error(`prune-modules: nested ${p}: a second version of a package; not expected`); process.exit(1); }
      if (JUNK_DIRS.has(e.name)) { fs.rmSync(p, { recursive: true, force: true }); junk++; } else walk(p);
    } else if (JUNK_FILE.test(e.name) || e.isSymbolicLink()) {
      fs.rmSync(p, { force: true }); junk++;
    } else {
      // Only ELF files and #! scripts stay executable (lintian: executable-not-elf-or-script); an addon
      // (.node) is a shared library, loaded, not run (shared-library-is-executable).
      const st = fs.statSync(p);
      if (st.mode & 0o111) {
        const head = Buffer.alloc(4);
        const fd = fs.openSync(p, 'r'); fs.readSync(fd, head, 0, 4, 0); fs.closeSync(fd);
        const script = head[0] === 0x23 && head[1] === 0x21;
        const elf = head.toString('latin1') === '\x7fELF';
        if (!script && !(elf && !p.endsWith('.node'))) fs.chmodSync(p, st.mode & ~0o111);
      }
    }
  }
};
walk(modulesDir);
console.error(`prune-modules: kept ${keep.size} packages (${[...keep].sort().join(' ')}); removed ${junk} non-runtime files and directories`);
