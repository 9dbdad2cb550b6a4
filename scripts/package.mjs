// Post-processes a wasm-pack package directory (pkg/, pkg-web/, the size builds) into what we
// ship. Run after every release `wasm-pack build`:
//
//   node scripts/package.mjs <pkgdir> [--out-name cometkit] [--no-minify]
//
// 1. Snippet exports. A wasm-bindgen `module` snippet (copied to <pkgdir>/snippets/<crate>-<hash>/
//    js/...) whose first line is `// cometkit-export: Name1, Name2` holds public JavaScript
//    classes; the entry module gets `export { Name1, Name2 } from './snippets/.../x.js';` so
//    `import { Name1 } from 'cometkit'` finds them.
// 2. Declarations. wasm-bindgen gives exported classes a `[Symbol.dispose](): void;` member,
//    which names a symbol only lib `esnext.disposable` (or es2025) declares: under
//    `--lib es2020,dom` without skipLibCheck the .d.ts fails. The declaration file then pulls
//    that lib in itself (`/// <reference lib="esnext.disposable" />`), so it checks under any lib
//    setting and `using` keeps working for consumers who have it.
// 3. Minification. Every .js file of the package (entry, wasm-bindgen glue, snippets) is minified
//    with esbuild: whitespace, syntax and local identifiers only (the `@ts-self-types` line
//    wasm-pack starts a module with is kept). Property names are never
//    mangled (wasm-bindgen's import object and the public API are reached by name), exported
//    names are kept, and the output stays an ES module; nothing is lowered.
// 4. Boundary names (`slimBoundary`). wasm-bindgen names every import of the glue module
//    `__wbg_<what>_<16 hex digits>`, and its own exports `__wbindgen_*` or
//    `wasm_bindgen_<hash>___convert__closures_...`; the hex is incompressible and each name is
//    in the wasm and in the JS. Imports become `$0`, `$1`, ..., those exports `_a`, `_b`, ...
//    in both (the wasm's import and export sections are rewritten, the JS identifiers
//    replaced), before minification. Exports the API wraps keep their names. In a `--target
//    web` package the import modules become `a`, `b`, ..., glue imports the optimised wasm no
//    longer has are dropped, and two pieces of glue no browser needs go (`trimWebGlue`).
// 5. package.json. If the package has snippets, its `files` list names the `snippets` folder, so
//    `npm pack`/`npm publish` ship what the entry module imports.
// 6. One module for pages. In a `--target web` package (no `<name>_bg.js`: pages load it with
//    `<script type="module">`, not through a bundler) the entry module and every snippet are
//    bundled by esbuild into the entry, and the `snippets` folder goes. A page then fetches one
//    module before the wasm instead of the entry and, one level later, each snippet: on a fresh
//    page that level was the largest part of the time to a ready library. package.json's
//    `files` and `sideEffects` follow. A bundler package keeps its snippets: the application's
//    bundler does this itself.
// 7. Public names. Minifying renames the classes and functions the snippets export (marked as
//    in step 1), and their `name` with them; `keepExportNames` gives each its name back, so
//    `Socket.name` is "Socket" and devtools show `Socket {...}`.
// 8. Subpaths (`--subpaths <pkgdir> <name>...`, run by scripts/build.sh once the
//    single-capability packages are built into <pkgdir>/<name>/): package.json's `exports` gets
//    `./<name>` for each, so `import { Socket } from 'cometkit/socket'` loads a wasm with the
//    Socket alone (`addSubpaths`).
//
// Every step is idempotent: running the script twice leaves the package as one run does.

import { readFileSync, writeFileSync, readdirSync, existsSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const EXPORT_MARKER = /^\/\/\s*cometkit-export:\s*(.*?)\s*$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const DISPOSE_MEMBER = /\[Symbol\.dispose\]\s*\(\s*\)\s*:\s*void\s*;/;
export const DISPOSABLE_REFERENCE = '/// <reference lib="esnext.disposable" />';

/** Every file under `dir` (recursively) whose name ends with `suffix`, sorted. */
function filesUnder(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, suffix));
    else if (entry.name.endsWith(suffix)) out.push(full);
  }
  return out.sort();
}

/** `./a/b.js` for `pkgDir/a/b.js`: the specifier the entry module imports it by. */
function specifier(pkgDir, file) {
  return `./${path.relative(pkgDir, file).split(path.sep).join('/')}`;
}

/**
 * The `export { ... } from '...'` lines the entry module needs: one per snippet under
 * `<pkgDir>/snippets/<dir>/js/` whose first line is a `cometkit-export` marker.
 * Throws on a marker that names no valid identifier.
 */
export function snippetExports(pkgDir) {
  const snippets = path.join(pkgDir, 'snippets');
  if (!existsSync(snippets)) return [];
  const lines = [];
  for (const crateDir of readdirSync(snippets).sort()) {
    for (const file of filesUnder(path.join(snippets, crateDir, 'js'), '.js')) {
      const first = readFileSync(file, 'utf8').split('\n', 1)[0];
      const marker = first.match(EXPORT_MARKER);
      if (!marker) continue;
      const names = marker[1].split(',').map((n) => n.trim()).filter(Boolean);
      const bad = names.filter((n) => !IDENTIFIER.test(n));
      if (names.length === 0 || bad.length > 0) {
        throw new Error(`${file}: malformed cometkit-export line: ${first}`);
      }
      lines.push({ names, from: specifier(pkgDir, file) });
    }
  }
  return lines;
}

/** Appends the snippet re-exports to the entry module, skipping any it already has. */
export function addSnippetExports(pkgDir, entry) {
  const file = path.join(pkgDir, entry);
  let code = readFileSync(file, 'utf8');
  const added = [];
  for (const { names, from } of snippetExports(pkgDir)) {
    // Present already (this script ran before without minifying): leave it. After a minifying
    // run the snippets lost their marker lines, so nothing is added twice either. The entry
    // module may import other things from the same snippet (the web target's glue does), so
    // only the export line itself counts.
    const line = `export { ${names.join(', ')} } from '${from}';`;
    if (code.includes(line)) continue;
    if (!code.endsWith('\n')) code += '\n';
    code += `${line}\n`;
    added.push(...names);
  }
  if (added.length > 0) writeFileSync(file, code);
  return added;
}

/** Makes every .d.ts with a `[Symbol.dispose]` member carry the lib reference it needs. */
export function fixDeclarations(pkgDir) {
  const fixed = [];
  for (const file of filesUnder(pkgDir, '.d.ts')) {
    const text = readFileSync(file, 'utf8');
    if (!DISPOSE_MEMBER.test(text) || text.includes(DISPOSABLE_REFERENCE)) continue;
    // Triple-slash directives only count before the first statement: put it first.
    writeFileSync(file, `${DISPOSABLE_REFERENCE}\n${text}`);
    fixed.push(path.relative(pkgDir, file));
  }
  return fixed;
}

/** wasm-pack's first line naming the module's own declarations (read by Deno): kept. */
const SELF_TYPES = /^\/\* @ts-self-types="[^"]*" \*\/\n?/;

/** `minified` with the `@ts-self-types` line of `original` (when it had one) first again. */
function keepSelfTypes(original, minified) {
  const selfTypes = original.match(SELF_TYPES)?.[0].trimEnd();
  return selfTypes ? `${selfTypes}\n${minified}` : minified;
}

// esbuild's minification for every JS file of a package, bundled or not. Nothing is lowered
// (hand-written snippets may use any syntax; the minifier could write `??`/`?.` for patterns
// it recognises: ES2020, older than every browser that runs wasm-bindgen's reference-types
// output). No `mangleProps`: property names stay as they are.
const MINIFY = {
  format: 'esm',
  target: 'esnext',
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  legalComments: 'none',
  charset: 'utf8',
};

/** True for esbuild's output: one line (after a kept self-types comment). */
function isMinified(code) {
  return !code.replace(SELF_TYPES, '').trimEnd().includes('\n');
}

/**
 * Minifies every .js file of the package in place (skipping files already minified, so a
 * second run is a no-op); returns [file, bytes before, after] for each file minified.
 */
export async function minify(pkgDir) {
  const { transform } = await import('esbuild');
  const results = [];
  for (const file of filesUnder(pkgDir, '.js')) {
    if (path.relative(pkgDir, file).split(path.sep).includes('node_modules')) continue;
    const code = readFileSync(file, 'utf8');
    if (isMinified(code)) continue;
    const out = await transform(code, { ...MINIFY, loader: 'js', sourcefile: path.basename(file) });
    const minified = keepSelfTypes(code, out.code);
    writeFileSync(file, minified);
    results.push([path.relative(pkgDir, file), Buffer.byteLength(code), Buffer.byteLength(minified)]);
  }
  return results;
}

// ---- the wasm import section -------------------------------------------------------------

/** Reads an unsigned LEB128 number at `pos`; returns [value, next position]. */
function leb(bytes, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= bytes.length) throw new Error('truncated LEB128 number');
    const byte = bytes[pos++];
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
}

function lebBytes(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** Skips a table or memory `limits`. */
function skipLimits(bytes, pos) {
  const flags = bytes[pos++];
  [, pos] = leb(bytes, pos);
  if (flags & 1) [, pos] = leb(bytes, pos);
  return pos;
}

/** Skips a reference or value type (a heap type after the 0x63/0x64 prefixes). */
function skipType(bytes, pos) {
  const t = bytes[pos++];
  if (t === 0x63 || t === 0x64) [, pos] = leb(bytes, pos); // (ref null? ht); ht as s33, same bytes
  return pos;
}

/** A wasm name: LEB128 length, then UTF-8. */
function nameBytes(text) {
  const encoded = Buffer.from(text, 'utf8');
  return [...lebBytes(encoded.length), ...encoded];
}

/**
 * The wasm `bytes` with names in its import and export sections rewritten; everything else
 * byte for byte the same. `importModule(module)` may return a new module name for every import
 * of that module, `importName(module, name)` a new name for one import, `exportName(name)` a
 * new name for one export (undefined: unchanged). Returns { bytes, imports, exports }: what
 * was renamed (Map old -> new).
 */
export function rewriteWasmNames(bytes, { importModule = () => undefined, importName = () => undefined, exportName = () => undefined } = {}) {
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const renamedImports = new Map();
  const renamedExports = new Map();
  const parts = [bytes.subarray(0, 8)];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, start] = leb(bytes, pos + 1);
    const end = start + size;
    if (id !== 2 && id !== 7) {
      parts.push(bytes.subarray(pos, end));
      pos = end;
      continue;
    }
    const out = [];
    let p = start;
    let count;
    [count, p] = leb(bytes, p);
    out.push(...lebBytes(count));
    for (let i = 0; i < count; i++) {
      let len;
      if (id === 2) {
        [len, p] = leb(bytes, p);
        const module = utf8.decode(bytes.subarray(p, p + len));
        p += len;
        [len, p] = leb(bytes, p);
        const name = utf8.decode(bytes.subarray(p, p + len));
        p += len;
        const descStart = p;
        const kind = bytes[p++];
        if (kind === 0) [, p] = leb(bytes, p); // function: type index
        else if (kind === 1) p = skipLimits(bytes, skipType(bytes, p)); // table
        else if (kind === 2) p = skipLimits(bytes, p); // memory
        else if (kind === 3) p = skipType(bytes, p) + 1; // global: type, mutability
        else if (kind === 4) [, p] = leb(bytes, p + 1); // tag: attribute, type index
        else throw new Error(`unknown import kind ${kind}`);
        const nextName = importName(module, name);
        if (nextName !== undefined) renamedImports.set(name, nextName);
        const nextModule = importModule(module) ?? module;
        out.push(...nameBytes(nextModule), ...nameBytes(nextName ?? name), ...bytes.subarray(descStart, p));
      } else {
        [len, p] = leb(bytes, p);
        const name = utf8.decode(bytes.subarray(p, p + len));
        p += len;
        const descStart = p;
        [, p] = leb(bytes, p + 1); // kind, index
        const next = exportName(name);
        if (next !== undefined) renamedExports.set(name, next);
        out.push(...nameBytes(next ?? name), ...bytes.subarray(descStart, p));
      }
    }
    if (p !== end) throw new Error(`${id === 2 ? 'import' : 'export'} section size mismatch`);
    parts.push(Buffer.from([id, ...lebBytes(out.length), ...out]));
    pos = end;
  }
  return { bytes: Buffer.concat(parts), imports: renamedImports, exports: renamedExports };
}

/** Exports only wasm-bindgen's glue calls (allocator, externref table, closures, class frees). */
const INTERNAL_EXPORT = /^(__wbindgen_|__wbg_|__externref_|wasm_bindgen_|__abort_handler$|__instance_terminated$)/;

/** `n` as a short name: 0 -> a, 25 -> z, 26 -> ba, ... (letters only). */
function shortName(n) {
  let out = '';
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
}

/**
 * Drops the entries of a `--target web` glue's import object (`const import0 = {...}` in
 * `__wbg_get_imports`) that the wasm does not import: wasm-opt removes imports that became
 * dead after wasm-bindgen wrote the glue (a panic path compiled out, say). Returns
 * [code, names dropped].
 */
export function dropDeadImports(code, imported) {
  const lines = code.split('\n');
  const open = lines.indexOf('    const import0 = {');
  const close = open < 0 ? -1 : lines.indexOf('    };', open);
  if (close < 0) return [code, []];
  const dropped = [];
  const kept = [];
  let keep = true;
  for (let i = open + 1; i < close; i++) {
    const entry = lines[i].match(/^ {8}([\w$]+): /);
    if (entry && entry[1] !== '__proto__') {
      keep = imported.has(entry[1]);
      if (!keep) dropped.push(entry[1]);
    } else if (entry) {
      keep = true;
    }
    if (keep) kept.push(lines[i]);
  }
  return [[...lines.slice(0, open + 1), ...kept, ...lines.slice(close)].join('\n'), dropped];
}

/** Replaces whole-word occurrences of each key of `renamed` in `code` by its value. */
function replaceNames(code, renamed) {
  if (renamed.size === 0) return code;
  const keys = [...renamed.keys()].sort((x, y) => y.length - x.length);
  const pattern = new RegExp(`(?<![\\w$])(${keys.map((k) => k.replace(/\$/g, '\\$')).join('|')})(?![\\w$])`, 'g');
  return code.replace(pattern, (old) => renamed.get(old));
}

/**
 * What wasm-bindgen's glue does that no browser running this wasm needs, in a `--target web`
 * entry: the `TextEncoder.encodeInto` fallback (every browser with reference types has it), and
 * three long warnings said in fewer words.
 */
function trimWebGlue(code) {
  return code
    .replace(/\nif \(!\('encodeInto' in cachedTextEncoder\)\) \{\n[\s\S]*?\n\}\n/, '\n')
    .replace(
      /"`WebAssembly\.instantiateStreaming` failed because your server does not serve Wasm with `application\/wasm` MIME type\. Falling back to `WebAssembly\.instantiate` which is slower\. Original error:\\n"/,
      '"cometkit: the .wasm is not served as application/wasm, so it is compiled without streaming:"',
    )
    .replace("'using deprecated parameters for `initSync()`; pass a single object instead'", "'cometkit: initSync(bytes) is deprecated, pass {module}'")
    .replace(
      "'using deprecated parameters for the initialization function; pass a single object instead'",
      "'cometkit: init(url) is deprecated, pass {module_or_path}'",
    );
}

/**
 * A `--target web` glue imports each snippet module the wasm imports from as a namespace
 * (`import * as import1 from "./snippets/..."`), which keeps every export of the snippet alive
 * in a bundle. Each such import becomes named imports of just what the wasm imports, gathered
 * in an object of the same name, so the bundler can drop the rest.
 */
function pickSnippetImports(code, imports) {
  return code.replace(/^import \* as (import\d+) from "([^"]+)";?$/gm, (line, local, from) => {
    const names = [...new Set(imports.filter((i) => i.module === from).map((i) => i.name))];
    if (names.length === 0 || !names.every((n) => IDENTIFIER.test(n))) return line;
    const alias = (n) => `${local}_${n}`;
    return (
      `import { ${names.map((n) => `${n} as ${alias(n)}`).join(', ')} } from "${from}";\n` +
      `const ${local} = { __proto__: null, ${names.map((n) => `${n}: ${alias(n)}`).join(', ')} };`
    );
  });
}

/**
 * The names that cross between the wasm and its glue, made short. wasm-bindgen names every
 * import of the glue module `__wbg_<what>_<16 hex digits>` and its own exports `__wbindgen_*`,
 * `__wbg_<class>_free` or `wasm_bindgen_<hash>___convert__closures_...` (up to 250 characters);
 * each name is in the wasm and again in the JS, and the hex is incompressible. Imports become
 * `$0`, `$1`, ..., those exports `_a`, `_b`, ... (exports the API wraps, such as `ping`, keep
 * their names: `init()` returns them). In a `--target web` package the glue is also the only
 * reader of the import modules' names, so `./<name>_bg.js` and the snippet paths become `a`,
 * `b`, ..., import-object entries the wasm no longer imports are dropped, and `trimWebGlue`
 * applies. Returns a summary for the log, or null when there is nothing to do.
 */
export function slimBoundary(pkgDir, outName) {
  const wasmFile = path.join(pkgDir, `${outName}_bg.wasm`);
  if (!existsSync(wasmFile)) return null;
  const bytes = readFileSync(wasmFile);
  const glue = `./${outName}_bg.js`;
  const web = !existsSync(path.join(pkgDir, `${outName}_bg.js`));
  const entryFile = path.join(pkgDir, `${outName}.js`);
  const jsFiles = [`${outName}.js`, `${outName}_bg.js`].map((f) => path.join(pkgDir, f)).filter(existsSync);
  const dtsFiles = [`${outName}.d.ts`, `${outName}_bg.wasm.d.ts`].map((f) => path.join(pkgDir, f)).filter(existsSync);
  const module = new WebAssembly.Module(bytes);
  const exportNames = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const glueImports = new Set(WebAssembly.Module.imports(module).filter((i) => i.module === glue).map((i) => i.name));
  const summary = { imports: 0, exports: 0, modules: 0, dropped: [] };
  if (web) {
    const [code, dropped] = dropDeadImports(readFileSync(entryFile, 'utf8'), glueImports);
    writeFileSync(entryFile, pickSnippetImports(trimWebGlue(code), WebAssembly.Module.imports(module)));
    summary.dropped = dropped;
  }
  let nextImport = 0;
  let nextExport = 0;
  const modules = new Map();
  const out = rewriteWasmNames(bytes, {
    importName: (mod, name) => (mod === glue && /^__wb(g|indgen)_/.test(name) ? `$${(nextImport++).toString(36)}` : undefined),
    exportName: (name) => {
      if (!INTERNAL_EXPORT.test(name)) return undefined;
      let next;
      do next = `_${shortName(nextExport++)}`;
      while (exportNames.has(next));
      return next;
    },
    importModule: (mod) => {
      if (!web) return undefined;
      if (!modules.has(mod)) modules.set(mod, shortName(modules.size));
      return modules.get(mod);
    },
  });
  if (out.imports.size + out.exports.size + modules.size === 0) return summary;
  for (const file of jsFiles) {
    let code = replaceNames(replaceNames(readFileSync(file, 'utf8'), out.imports), out.exports);
    for (const [old, next] of modules) {
      // Only the import object's keys: `import ... from "<path>"` lines keep the real paths.
      code = code.split(`${JSON.stringify(old)}: `).join(`${JSON.stringify(next)}: `);
    }
    writeFileSync(file, code);
  }
  for (const file of dtsFiles) writeFileSync(file, replaceNames(readFileSync(file, 'utf8'), out.exports));
  writeFileSync(wasmFile, out.bytes);
  summary.imports = out.imports.size;
  summary.exports = out.exports.size;
  summary.modules = modules.size;
  return summary;
}

/**
 * Makes the single-capability packages built into subfolders of the package (`pkg/socket/`, ...)
 * its subpaths: package.json's `exports` maps `.` and `./<name>` (types first, as TypeScript's
 * `bundler` and `node16` resolution want), and `files` lists each folder. Each subfolder keeps a
 * package.json of its own, cut to what resolvers and bundlers read there (`main`, `types`,
 * `sideEffects`: a bundler takes a module's side effects from the nearest package.json), and
 * loses the README and .gitignore wasm-pack put in it. Returns the names made subpaths; a name
 * whose folder holds no `<outName>.js` fails, so a failed build is not published half.
 */
export function addSubpaths(pkgDir, names, outName = 'cometkit') {
  const file = path.join(pkgDir, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const entry = (dir) => ({ types: `./${dir}${outName}.d.ts`, default: `./${dir}${outName}.js` });
  const exports = { '.': entry(''), './package.json': './package.json' };
  const files = new Set(Array.isArray(pkg.files) ? pkg.files : []);
  for (const name of names) {
    if (!IDENTIFIER.test(name)) throw new Error(`subpath ${JSON.stringify(name)} is not a plain name`);
    const dir = path.join(pkgDir, name);
    if (!existsSync(path.join(dir, `${outName}.js`))) throw new Error(`${dir} holds no ${outName}.js`);
    const own = path.join(dir, 'package.json');
    const inner = existsSync(own) ? JSON.parse(readFileSync(own, 'utf8')) : {};
    const cut = { type: 'module', main: `${outName}.js`, types: `${outName}.d.ts` };
    if (inner.sideEffects !== undefined) cut.sideEffects = inner.sideEffects;
    writeFileSync(own, `${JSON.stringify(cut, null, 2)}\n`);
    for (const extra of ['README.md', '.gitignore']) rmSync(path.join(dir, extra), { force: true });
    exports[`./${name}`] = entry(`${name}/`);
    files.add(name);
  }
  pkg.exports = exports;
  pkg.files = [...files];
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  return names;
}

/** Adds `snippets` to package.json's `files` when the package has snippets. */
export function fixPackageJson(pkgDir) {
  const file = path.join(pkgDir, 'package.json');
  if (!existsSync(file) || !existsSync(path.join(pkgDir, 'snippets'))) return false;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(pkg.files)) return false; // no list: npm ships everything
  if (pkg.files.some((f) => f.replace(/^\.\//, '').replace(/\/.*$/, '') === 'snippets')) return false;
  pkg.files.push('snippets');
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  return true;
}

/**
 * Bundles the entry module of a `--target web` package with every snippet it imports into the
 * entry itself (minified as `minify` does), removes the `snippets` folder and updates
 * package.json. Returns false when there is nothing to do (a bundler package, or no snippets).
 */
export async function bundleWebEntry(pkgDir, outName) {
  const snippets = path.join(pkgDir, 'snippets');
  const entry = path.join(pkgDir, `${outName}.js`);
  if (existsSync(path.join(pkgDir, `${outName}_bg.js`))) return false;
  const code = readFileSync(entry, 'utf8');
  // Without snippets the bundle is only there to drop unused glue; once done, it stays done.
  if (!existsSync(snippets) && isMinified(code)) return false;
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'neutral',
    // `import.meta.url` (the wasm's default location) stays as it is, since the bundle keeps
    // the entry's place.
    ...MINIFY,
    logLevel: 'silent',
  });
  writeFileSync(entry, keepSelfTypes(code, out.outputFiles[0].text));
  rmSync(snippets, { recursive: true, force: true });
  const pkgFile = path.join(pkgDir, 'package.json');
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    const notSnippets = (f) => f.replace(/^\.\//, '').replace(/\/.*$/, '') !== 'snippets';
    if (Array.isArray(pkg.files)) pkg.files = pkg.files.filter(notSnippets);
    if (Array.isArray(pkg.sideEffects)) {
      // The snippets' top-level code now runs in the entry module.
      pkg.sideEffects = [...new Set([...pkg.sideEffects.filter(notSnippets), `./${outName}.js`])];
    }
    writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  return true;
}

/**
 * Minifying renames a module's top-level classes and functions (`class Socket` becomes
 * `class M`, exported `as Socket`), and with them their `name`: devtools would show `M {...}`
 * and `Socket.name` would be "M". For each of `names` exported under a different local name,
 * `code` gets `Object.defineProperty(M,"name",{value:"Socket"})` before its export clause.
 * Returns [code, names fixed].
 */
export function keepExportNames(code, names) {
  const wanted = new Set(names);
  const clause = [...code.matchAll(/export\s*\{([^}]*)\}/g)].pop();
  if (!clause || wanted.size === 0) return [code, []];
  const fixes = [];
  const fixed = [];
  for (const item of clause[1].split(',')) {
    const m = item.trim().match(/^([\w$]+)\s+as\s+([\w$]+)$/);
    if (!m || m[1] === m[2] || !wanted.has(m[2])) continue;
    fixes.push(`Object.defineProperty(${m[1]},"name",{value:${JSON.stringify(m[2])}});`);
    fixed.push(m[2]);
  }
  if (fixes.length === 0) return [code, []];
  return [code.slice(0, clause.index) + fixes.join('') + code.slice(clause.index), fixed];
}

/** The whole post-processing of one package directory. */
export async function packageDir(pkgDir, { outName = 'cometkit', minifyJs = true, log = () => {} } = {}) {
  const entry = `${outName}.js`;
  if (!existsSync(path.join(pkgDir, entry)) || !statSync(pkgDir).isDirectory()) {
    throw new Error(`${pkgDir} holds no ${entry}: run wasm-pack build first`);
  }
  if (minifyJs) {
    const slim = slimBoundary(pkgDir, outName);
    if (slim) {
      log(`renamed ${slim.imports} wasm imports, ${slim.exports} internal exports, ${slim.modules} import modules`);
      if (slim.dropped.length > 0) log(`dropped ${slim.dropped.length} glue imports the wasm no longer has`);
    }
  }
  const publicNames = snippetExports(pkgDir).flatMap((e) => e.names);
  const exported = addSnippetExports(pkgDir, entry);
  if (exported.length > 0) log(`re-exported from snippets: ${exported.join(', ')}`);
  const fixed = fixDeclarations(pkgDir);
  if (fixed.length > 0) log(`declarations given ${DISPOSABLE_REFERENCE}: ${fixed.join(', ')}`);
  if (fixPackageJson(pkgDir)) log('package.json: `files` now lists snippets');
  if (minifyJs) {
    if (await bundleWebEntry(pkgDir, outName)) log(`bundled the snippets into ${entry}`);
    let before = 0;
    let after = 0;
    for (const [, b, a] of await minify(pkgDir)) {
      before += b;
      after += a;
    }
    log(`minified JS: ${before} -> ${after} bytes`);
    const named = new Set();
    for (const file of filesUnder(pkgDir, '.js')) {
      if (path.relative(pkgDir, file).split(path.sep).includes('node_modules')) continue;
      const [code, fixed] = keepExportNames(readFileSync(file, 'utf8'), publicNames);
      if (fixed.length === 0) continue;
      writeFileSync(file, code);
      for (const n of fixed) named.add(n);
    }
    if (named.size > 0) log(`kept the names of ${[...named].join(', ')}`);
  }
}

async function main(argv) {
  const args = [...argv];
  if (args[0] === '--subpaths') {
    // node scripts/package.mjs --subpaths <pkgdir> <name>...: after each <pkgdir>/<name> is packaged.
    const [, pkgDir, ...names] = args;
    if (!pkgDir || names.length === 0) throw new Error('usage: node scripts/package.mjs --subpaths <pkgdir> <name>...');
    addSubpaths(pkgDir, names);
    console.error(`[package] ${pkgDir}: subpaths ${names.map((n) => `./${n}`).join(', ')}`);
    return;
  }
  let outName = 'cometkit';
  let minifyJs = true;
  const dirs = [];
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === '--out-name') outName = args.shift();
    else if (arg === '--no-minify') minifyJs = false;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else dirs.push(arg);
  }
  if (dirs.length === 0 || !outName) {
    throw new Error('usage: node scripts/package.mjs <pkgdir>... [--out-name cometkit] [--no-minify]');
  }
  for (const dir of dirs) {
    await packageDir(dir, { outName, minifyJs, log: (m) => console.error(`[package] ${dir}: ${m}`) });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`[package] ${err.message}`);
    process.exit(1);
  });
}
