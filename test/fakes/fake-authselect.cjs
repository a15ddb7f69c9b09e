#!/usr/bin/node
// A fake authselect(8) under a root directory ($FAKE_AUTHSELECT_ROOT): the subcommands and outputs the adapter relies on
// (current [--raw], create-profile, select), held to the real tool by test/integration/authselect-contract.test.ts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = process.env.FAKE_AUTHSELECT_ROOT;
if (!ROOT) {
  process.stderr.write('fake authselect: FAKE_AUTHSELECT_ROOT is not set\n');
  process.exit(1);
}
const VENDOR = path.join(ROOT, 'usr/share/authselect/default');
const CONF = path.join(ROOT, 'etc/authselect');
const CUSTOM = path.join(CONF, 'custom');
const SELECTION = path.join(CONF, 'authselect.conf');
const GROUPS = {
  meta: ['README', 'REQUIREMENTS'],
  nsswitch: ['nsswitch.conf'],
  pam: ['system-auth', 'password-auth', 'smartcard-auth', 'fingerprint-auth', 'postlogin'],
  dconf: ['dconf-db', 'dconf-locks'],
};
const GENERATED = [...GROUPS.pam, ...GROUPS.nsswitch];

const out = (s) => process.stdout.write(s);
const fail = (code, msg) => {
  process.stderr.write(`[error] ${msg}\n`);
  process.exit(code);
};
const profileDir = (id) => (id.startsWith('custom/') ? path.join(CUSTOM, id.slice(7)) : path.join(VENDOR, id));

/** Renders one template for the features: {include if}, {exclude if}, {if [not] "F":X}; {imply} lines dropped. */
function render(text, features) {
  const on = (f) => features.includes(f);
  const lines = [];
  for (let line of text.split('\n')) {
    if (/^\{imply /.test(line)) continue;
    const inc = /\{include if "([^"]+)"\}/.exec(line);
    if (inc && !on(inc[1])) continue;
    const exc = /\{exclude if "([^"]+)"\}/.exec(line);
    if (exc && on(exc[1])) continue;
    line = line.replace(/\{(?:include|exclude) if "[^"]+"\}/g, '');
    line = line.replace(/\{if (not )?"([^"]+)":([^}]*)\}/g, (_m, not, f, x) => ((not ? !on(f) : on(f)) ? x : ''));
    lines.push(line.replace(/\s+$/, ''));
  }
  return lines.join('\n');
}

function current(args) {
  if (!fs.existsSync(SELECTION)) {
    out('No existing configuration detected.\n');
    process.exit(2);
  }
  const [profile, ...features] = fs.readFileSync(SELECTION, 'utf8').split('\n').filter((l) => l !== '');
  if (args.includes('--raw') || args.includes('-r')) out([profile, ...features].join(' ') + '\n');
  else out(`Profile ID: ${profile}\nEnabled features:${features.length ? '\n' + features.map((f) => `- ${f}\n`).join('') : ' None\n'}`);
}

function createProfile(args) {
  let base = null;
  const flags = new Set();
  const free = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--base-on' || a === '-b') base = args[++i];
    else if (a.startsWith('--base-on=')) base = a.slice(10);
    else if (a.startsWith('--symlink-')) flags.add(a.slice(10));
    else if (a.startsWith('-')) fail(1, `unsupported option in the fake: ${a}`);
    else free.push(a);
  }
  if (free.length !== 1) fail(1, 'Only one free argument is expected!');
  const dir = path.join(CUSTOM, free[0]);
  if (fs.existsSync(dir)) fail(4, 'Unable to create new profile [17]: File exists');
  if (base === null) fail(1, 'the fake needs --base-on');
  const from = profileDir(base);
  if (!fs.existsSync(from)) fail(2, 'Unable to create new profile [2]: No such file or directory');
  fs.mkdirSync(dir, { recursive: true });
  for (const [group, files] of Object.entries(GROUPS)) {
    for (const f of files) {
      if (!fs.existsSync(path.join(from, f))) continue;
      if (flags.has(group)) fs.symlinkSync(path.join(from, f), path.join(dir, f));
      else fs.copyFileSync(path.join(from, f), path.join(dir, f));
    }
  }
  out(`New profile was created at ${dir}\n`);
}

function select(args) {
  const free = args.filter((a) => !a.startsWith('-'));
  const [id, ...features] = free;
  if (!id) fail(1, 'Missing option: Profile identifier.');
  const dir = profileDir(id);
  if (!fs.existsSync(path.join(dir, 'system-auth'))) fail(1, `Unable to get profile information [2]: No such file or directory`);
  fs.mkdirSync(CONF, { recursive: true });
  for (const f of GENERATED) {
    const t = path.join(dir, f);
    if (fs.existsSync(t)) fs.writeFileSync(path.join(CONF, f), render(fs.readFileSync(t, 'utf8'), features));
  }
  fs.writeFileSync(SELECTION, [id, ...features].join('\n') + '\n');
  if (!args.includes('-q') && !args.includes('--quiet')) out(`Profile "${id}" was selected.\n`);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'current') current(rest);
else if (cmd === 'create-profile') createProfile(rest);
else if (cmd === 'select') select(rest);
else fail(1, `the fake authselect does not know "${cmd}"`);
