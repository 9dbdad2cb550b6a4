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
// 4. Import names. wasm-bindgen names every import of the glue module `__wbg_<what>_<16 hex
//    digits>`; the hex is incompressible and each name is in the wasm and in the JS. They are
//    renamed `$0`, `$1`, ... in both (the wasm's import section is rewritten, the JS identifiers
//    replaced), before minification. Exports keep their names (the `.d.ts` lists them).
// 5. package.json. If the package has snippets, its `files` list names the `snippets` folder, so
//    `npm pack`/`npm publish` ship what the entry module imports.
// 6. One module for pages. In a `--target web` package (no `<name>_bg.js`: pages load it with
//    `<script type="module">`, not through a bundler) the entry module and every snippet are
//    bundled by esbuild into the entry, and the `snippets` folder goes. A page then fetches one
//    module before the wasm instead of the entry and, one level later, each snippet: on a fresh
//    page that level was the largest part of the time to a ready library. package.json's
//    `files` and `sideEffects` follow. A bundler package keeps its snippets: the application's
//    bundler does this itself.
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
    const out = await transform(code, {
      loader: 'js',
      format: 'esm',
      // Nothing is lowered (hand-written snippets may use any syntax). The minifier could write
      // `??`/`?.` for patterns it recognises: ES2020, older than every browser that runs
      // wasm-bindgen's reference-types output.
      target: 'esnext',
      minifyWhitespace: true,
      minifySyntax: true,
      minifyIdentifiers: true,
      // No `mangleProps`: property names stay as they are.
      legalComments: 'none',
      charset: 'utf8',
      sourcefile: path.basename(file),
    });
    const selfTypes = code.match(SELF_TYPES)?.[0].trimEnd();
    const minified = selfTypes ? `${selfTypes}\n${out.code}` : out.code;
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

/**
 * The wasm `bytes` with every import of module `glue` whose name `rename` maps to a new name
 * renamed; everything else byte for byte the same. Returns { bytes, renamed: Map(old -> new) }.
 */
export function renameWasmImports(bytes, glue, rename) {
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const renamed = new Map();
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, start] = leb(bytes, pos + 1);
    const end = start + size;
    if (id !== 2) {
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
      const next = module === glue ? rename(name) : undefined;
      if (next !== undefined) renamed.set(name, next);
      for (const text of [module, next ?? name]) {
        const encoded = Buffer.from(text, 'utf8');
        out.push(...lebBytes(encoded.length), ...encoded);
      }
      out.push(...bytes.subarray(descStart, p));
    }
    if (p !== end) throw new Error('import section size mismatch');
    const section = Buffer.from([2, ...lebBytes(out.length), ...out]);
    return { bytes: Buffer.concat([bytes.subarray(0, pos), section, bytes.subarray(end)]), renamed };
  }
  return { bytes, renamed };
}

/** Renames the glue's `__wbg_*`/`__wbindgen_*` imports to `$0`, `$1`, ... in the wasm and JS. */
export function shortenImports(pkgDir, outName) {
  const wasmFile = path.join(pkgDir, `${outName}_bg.wasm`);
  if (!existsSync(wasmFile)) return 0;
  let next = 0;
  const { bytes, renamed } = renameWasmImports(readFileSync(wasmFile), `./${outName}_bg.js`, (name) =>
    /^__wb(g|indgen)_/.test(name) ? `$${(next++).toString(36)}` : undefined,
  );
  if (renamed.size === 0) return 0;
  const pattern = new RegExp(`\\b(${[...renamed.keys()].join('|')})\\b`, 'g');
  for (const file of [`${outName}.js`, `${outName}_bg.js`].map((f) => path.join(pkgDir, f))) {
    if (!existsSync(file)) continue;
    const code = readFileSync(file, 'utf8');
    writeFileSync(file, code.replace(pattern, (old) => renamed.get(old)));
  }
  writeFileSync(wasmFile, bytes);
  return renamed.size;
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
  if (existsSync(path.join(pkgDir, `${outName}_bg.js`)) || !existsSync(snippets)) return false;
  const { build } = await import('esbuild');
  const code = readFileSync(entry, 'utf8');
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    // As in `minify`: nothing lowered, no property mangling; `import.meta.url` (the wasm's
    // default location) stays as it is, since the bundle keeps the entry's place.
    target: 'esnext',
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  });
  const selfTypes = code.match(SELF_TYPES)?.[0].trimEnd();
  const bundled = out.outputFiles[0].text;
  writeFileSync(entry, selfTypes ? `${selfTypes}\n${bundled}` : bundled);
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

/** The whole post-processing of one package directory. */
export async function packageDir(pkgDir, { outName = 'cometkit', minifyJs = true, log = () => {} } = {}) {
  const entry = `${outName}.js`;
  if (!existsSync(path.join(pkgDir, entry)) || !statSync(pkgDir).isDirectory()) {
    throw new Error(`${pkgDir} holds no ${entry}: run wasm-pack build first`);
  }
  if (minifyJs) {
    const shortened = shortenImports(pkgDir, outName);
    if (shortened > 0) log(`renamed ${shortened} wasm imports`);
  }
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
  }
}

async function main(argv) {
  const args = [...argv];
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
