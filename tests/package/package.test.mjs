// scripts/package.mjs on a fake wasm-pack output: snippet re-exports, the .d.ts lib reference,
// minification without property mangling, the web package bundled into one module (a bundler
// package keeps its snippets), package.json `files`/`sideEffects`, and idempotence.
// Run: node --test tests/package/package.test.mjs (needs npm deps: esbuild).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { DISPOSABLE_REFERENCE, addSubpaths, dropDeadImports, packageDir, snippetExports } from '../../scripts/package.mjs';

/** A package directory shaped like wasm-pack's `--target web` output (`bundler`: its
 * `--target bundler` output, with `cometkit_bg.js`), with two marked snippets and two unmarked. */
function fakePackage({ bundler = false } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cometkit-package-'));
  const write = (rel, text) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  write('cometkit.js', [
    '/* @ts-self-types="./cometkit.d.ts" */',
    // The --target web glue imports snippet functions itself: not a re-export.
    "import { shared } from './snippets/cometkit-0a1b2c/js/shared.js';",
    "import * as socketModule from './snippets/cometkit-0a1b2c/js/socket.js';",
    'export const snippetLinks = [shared, socketModule].length;',
    'export function greet(someLongLocalName) {',
    '  const anotherLongLocalName = someLongLocalName + 1;',
    '  return { answerProperty: anotherLongLocalName };',
    '}',
    '',
  ].join('\n'));
  write('cometkit.d.ts', [
    'export class Handle {',
    '  private constructor();',
    '  free(): void;',
    '  [Symbol.dispose](): void;',
    '}',
    'export function greet(n: number): { answerProperty: number };',
    '',
  ].join('\n'));
  write('snippets/cometkit-0a1b2c/js/socket.js', [
    '// cometkit-export: Socket, SocketError',
    "import { shared } from './shared.js';",
    'export class Socket { get readyState() { return shared(); } }',
    'export class SocketError extends Error {}',
    'export function internalHelper() { return 1; }',
    '',
  ].join('\n'));
  write('snippets/cometkit-0a1b2c/js/extra/websocket.js', '// cometkit-export: CometWebSocket\nexport class CometWebSocket {}\n');
  write('snippets/cometkit-0a1b2c/js/shared.js', 'export function shared() { return 0; }\n');
  // An inline snippet (not under js/): never re-exported, even with a marker.
  write('snippets/cometkit-0a1b2c/inline0.js', '// cometkit-export: Hidden\nexport class Hidden {}\n');
  write('package.json', `${JSON.stringify({ name: 'cometkit', files: ['cometkit_bg.wasm', 'cometkit.js', 'cometkit.d.ts'], sideEffects: ['./snippets/*'] }, null, 2)}\n`);
  if (bundler) write('cometkit_bg.js', 'export function glue() { return 1; }\n');
  return dir;
}

test('marked snippets under js/ are found with their names', () => {
  const dir = fakePackage();
  try {
    assert.deepEqual(snippetExports(dir), [
      { names: ['CometWebSocket'], from: './snippets/cometkit-0a1b2c/js/extra/websocket.js' },
      { names: ['Socket', 'SocketError'], from: './snippets/cometkit-0a1b2c/js/socket.js' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the packaged entry re-exports the marked classes, minified, and stays importable', async () => {
  const dir = fakePackage();
  try {
    await packageDir(dir);
    const entry = readFileSync(path.join(dir, 'cometkit.js'), 'utf8');
    assert.doesNotMatch(entry, /someLongLocalName|anotherLongLocalName/, 'locals are renamed');
    assert.match(entry, /answerProperty/, 'property names are kept');
    assert.ok(entry.startsWith('/* @ts-self-types="./cometkit.d.ts" */\n'), 'the self-types line is kept');
    assert.equal(entry.trimEnd().split('\n').length, 2, 'whitespace is removed');
    assert.doesNotMatch(entry, /snippets\//, 'the snippets are bundled into the entry');
    assert.match(entry, /readyState/);
    assert.ok(!existsSync(path.join(dir, 'snippets')), 'the snippets folder is gone');

    const mod = await import(pathToFileURL(path.join(dir, 'cometkit.js')).href);
    assert.deepEqual(Object.keys(mod).sort(), ['CometWebSocket', 'Socket', 'SocketError', 'greet', 'snippetLinks']);
    assert.equal(new mod.Socket().readyState, 0);
    assert.ok(new mod.SocketError() instanceof Error);
    assert.deepEqual(mod.greet(1), { answerProperty: 2 });
    for (const name of ['Socket', 'SocketError', 'CometWebSocket']) {
      assert.equal(mod[name].name, name, 'a marked class keeps its name through minification');
    }

    const dts = readFileSync(path.join(dir, 'cometkit.d.ts'), 'utf8');
    assert.ok(dts.startsWith(`${DISPOSABLE_REFERENCE}\n`), 'the .d.ts references the lib it needs');
    assert.match(dts, /\[Symbol\.dispose\]\(\): void;/, 'the member is kept for `using`');

    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.files, ['cometkit_bg.wasm', 'cometkit.js', 'cometkit.d.ts']);
    assert.deepEqual(pkg.sideEffects, ['./cometkit.js']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bundler package keeps its snippets, listed in package.json', async () => {
  const dir = fakePackage({ bundler: true });
  try {
    await packageDir(dir);
    const entry = readFileSync(path.join(dir, 'cometkit.js'), 'utf8');
    assert.match(entry, /\.\/snippets\/cometkit-0a1b2c\/js\/socket\.js/);
    const snippet = readFileSync(path.join(dir, 'snippets/cometkit-0a1b2c/js/socket.js'), 'utf8');
    assert.match(snippet, /readyState/);
    const socket = await import(pathToFileURL(path.join(dir, 'snippets/cometkit-0a1b2c/js/socket.js')).href);
    assert.equal(socket.Socket.name, 'Socket', 'a marked class keeps its name through minification');
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.files, ['cometkit_bg.wasm', 'cometkit.js', 'cometkit.d.ts', 'snippets']);
    assert.deepEqual(pkg.sideEffects, ['./snippets/*']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const bundler of [false, true]) {
  test(`a second run changes nothing (${bundler ? 'bundler' : 'web'} package)`, async () => {
    const dir = fakePackage({ bundler });
    try {
      await packageDir(dir);
      const files = ['cometkit.js', 'cometkit.d.ts', 'package.json'];
      if (bundler) files.push('snippets/cometkit-0a1b2c/js/socket.js');
      const once = files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
      await packageDir(dir);
      assert.deepEqual(files.map((f) => readFileSync(path.join(dir, f), 'utf8')), once);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a malformed marker fails the packaging', async () => {
  const dir = fakePackage();
  try {
    writeFileSync(path.join(dir, 'snippets/cometkit-0a1b2c/js/bad.js'), '// cometkit-export: Not-A-Name\n');
    await assert.rejects(packageDir(dir), /malformed cometkit-export/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('single-capability packages become subpaths in exports and files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cometkit-subpaths-'));
  try {
    const write = (rel, text) => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    };
    write('package.json', JSON.stringify({ name: 'cometkit', files: ['cometkit.js', 'snippets'], main: 'cometkit.js' }));
    write('cometkit.js', 'export const full = 1;\n');
    for (const name of ['socket', 'xhr']) {
      write(`${name}/cometkit.js`, `export const only = ${JSON.stringify(name)};\n`);
      write(`${name}/README.md`, 'the whole README again');
      write(`${name}/.gitignore`, '*');
      write(`${name}/package.json`, JSON.stringify({
        name: 'cometkit', version: '0.1.0', files: ['cometkit.js'], main: 'cometkit.js',
        sideEffects: ['./cometkit.js', './snippets/*'],
      }));
    }
    // Twice: the second run leaves what the first made.
    for (let run = 0; run < 2; run++) addSubpaths(dir, ['socket', 'xhr']);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.files, ['cometkit.js', 'snippets', 'socket', 'xhr']);
    assert.deepEqual(Object.keys(pkg.exports), ['.', './package.json', './socket', './xhr']);
    assert.deepEqual(pkg.exports['./socket'], { types: './socket/cometkit.d.ts', default: './socket/cometkit.js' });
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'socket', 'package.json'), 'utf8')), {
      type: 'module', main: 'cometkit.js', types: 'cometkit.d.ts', sideEffects: ['./cometkit.js', './snippets/*'],
    });
    assert.ok(!existsSync(path.join(dir, 'socket', 'README.md')) && !existsSync(path.join(dir, 'xhr', '.gitignore')));
    // A subpath whose build is missing fails instead of being published half.
    assert.throws(() => addSubpaths(dir, ['socket', 'ping']), /ping holds no cometkit\.js/);
    assert.throws(() => addSubpaths(dir, ['../x']), /not a plain name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The real bundler package (pkg/, from scripts/build.sh) resolved by Node as an installed
// dependency: each subpath reaches its own single-capability build, with its own wasm and
// declarations; paths the exports do not name stay private.
const PKG = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'pkg');

test('the built npm package resolves every subpath to its own build', { skip: !existsSync(path.join(PKG, 'package.json')) && 'no pkg/: run scripts/build.sh' }, () => {
  const pkg = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  const subpaths = Object.keys(pkg.exports ?? {}).filter((k) => k !== '.' && k !== './package.json');
  if (subpaths.length === 0) return; // built with PKG_SUBPATHS= (none)
  const app = mkdtempSync(path.join(tmpdir(), 'cometkit-app-'));
  try {
    mkdirSync(path.join(app, 'node_modules'));
    symlinkSync(PKG, path.join(app, 'node_modules', 'cometkit'), 'dir');
    const specifiers = ['cometkit', ...subpaths.map((s) => `cometkit/${s.slice(2)}`)];
    const script = `for (const s of ${JSON.stringify([...specifiers, 'cometkit/cometkit_bg.wasm'])}) {
      try { console.log(import.meta.resolve(s)); } catch (e) { console.log(e.code); } }`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const resolved = run.stdout.trim().split('\n');
    assert.equal(resolved.pop(), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    const wasmSizes = new Set();
    specifiers.forEach((specifier, i) => {
      const file = new URL(resolved[i]).pathname;
      const dir = path.dirname(file);
      assert.equal(path.basename(file), 'cometkit.js', specifier);
      assert.equal(path.relative(PKG, dir), specifier === 'cometkit' ? '' : specifier.slice('cometkit/'.length));
      for (const own of ['cometkit_bg.wasm', 'cometkit.d.ts', 'cometkit_bg.js']) {
        assert.ok(existsSync(path.join(dir, own)), `${specifier}: ${own}`);
      }
      assert.ok(pkg.files.includes(path.relative(PKG, dir) || 'cometkit.js'), `${specifier} is in files`);
      wasmSizes.add(readFileSync(path.join(dir, 'cometkit_bg.wasm')).length);
    });
    assert.equal(wasmSizes.size, specifiers.length, 'every subpath has a wasm of its own');
    // A subpath's build is smaller than the full one.
    const full = readFileSync(path.join(PKG, 'cometkit_bg.wasm')).length;
    for (const s of subpaths) assert.ok(readFileSync(path.join(PKG, s, 'cometkit_bg.wasm')).length < full, s);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

// The real --target web package (pkg-web/, from scripts/build.sh), instantiated in node: a
// renamed import that the JS no longer provides would fail here with a LinkError.
const PKG_WEB = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'pkg-web');

test('the built web package links and its calls cross both ways', { skip: !existsSync(path.join(PKG_WEB, 'cometkit.js')) && 'no pkg-web/: run scripts/build.sh' }, async () => {
  const wasm = readFileSync(path.join(PKG_WEB, 'cometkit_bg.wasm'));
  const names = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map((i) => i.name);
  const module = new WebAssembly.Module(wasm);
  assert.deepEqual(names.filter((n) => /^__wb(g|indgen)_/.test(n)), [], 'glue imports are renamed');
  const modules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
  assert.ok([...modules].every((m) => /^[a-z]+$/.test(m)), `import modules are renamed: ${[...modules]}`);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  assert.deepEqual(exports.filter((n) => /^(__wb|wasm_bindgen_|__externref)/.test(n)), [], 'internal exports are renamed');
  assert.ok(exports.includes('memory'), 'memory keeps its name');
  const mod = await import(pathToFileURL(path.join(PKG_WEB, 'cometkit.js')).href);
  mod.initSync({ module: wasm });
  // The exported classes keep their names through minification (the full build has them all).
  for (const name of ['Socket', 'Manager', 'SocketIO']) {
    assert.equal(typeof mod[name], 'function', `${name} is exported`);
    assert.equal(mod[name].name, name, `${name}.name`);
  }
  assert.equal(typeof mod.io, 'function', 'io is exported');
  if (typeof mod.ping === 'function') {
    // No window in node: the Rust side rejects with a CometkitError built across the boundary.
    await assert.rejects(mod.ping('http://127.0.0.1/'), (e) => e.name === 'CometkitError' && e.kind === 'invalid');
  }
});

// Each single-capability web package (pkg-web/<name>/, as pages load `/pkg-web/socket/cometkit.js`)
// links on its own and exports its capability and nothing of the others.
const WEB_SUBPATHS = {
  xhr: ['request'],
  xdr: ['xdrRequest', 'corsSupport', 'request'],
  eventsource: ['openEventSource', 'CometEventSource'],
  websocket: ['openWebSocket', 'CometWebSocket'],
  jsonp: ['jsonp'],
  ping: ['ping'],
  socket: ['Socket'],
  socketio: ['io', 'Manager', 'SocketIO'],
};

test('each built single-capability web package links and exports only its capability', { skip: !existsSync(path.join(PKG_WEB, 'socket', 'cometkit.js')) && 'no pkg-web/socket/: run scripts/build.sh' }, async () => {
  const everything = new Set(Object.values(WEB_SUBPATHS).flat());
  for (const [name, own] of Object.entries(WEB_SUBPATHS)) {
    const dir = path.join(PKG_WEB, name);
    const wasm = readFileSync(path.join(dir, 'cometkit_bg.wasm'));
    const mod = await import(pathToFileURL(path.join(dir, 'cometkit.js')).href);
    mod.initSync({ module: wasm });
    for (const e of own) assert.equal(typeof mod[e], 'function', `${name} exports ${e}`);
    const foreign = [...everything].filter((e) => !own.includes(e) && e in mod);
    assert.deepEqual(foreign, [], `${name} exports only its own capability`);
    assert.equal(typeof mod.setDefaults, 'function', `${name} has its own setDefaults`);
  }
});

test('glue imports the optimised wasm no longer has are dropped, the rest kept whole', () => {
  const glue = [
    'function __wbg_get_imports() {',
    '    const import0 = {',
    '        __proto__: null,',
    '        __wbg_kept_0123: function(arg0) {',
    '            return arg0;',
    '        },',
    '        __wbg_dead_4567: function() { return handleError(function (arg0) {',
    '            throw arg0;',
    '        }, arguments); },',
    '        __wbindgen_init_externref_table: function() {',
    '            const table = wasm.__wbindgen_externrefs;',
    '        },',
    '    };',
    '    return { __proto__: null, "./cometkit_bg.js": import0 };',
    '}',
  ].join('\n');
  const [code, dropped] = dropDeadImports(glue, new Set(['__wbg_kept_0123', '__wbindgen_init_externref_table']));
  assert.deepEqual(dropped, ['__wbg_dead_4567']);
  assert.ok(!code.includes('dead') && !code.includes('throw arg0'));
  assert.ok(code.includes('__wbg_kept_0123: function(arg0) {\n            return arg0;\n        },'));
  assert.ok(code.includes('const table = wasm.__wbindgen_externrefs;'));
  assert.doesNotThrow(() => new Function(`${code}; return __wbg_get_imports;`));
  assert.deepEqual(dropDeadImports('no import object here', new Set()), ['no import object here', []]);
});
