// The package's TypeScript declarations, checked with the TypeScript compiler:
// - consumer.ts (every export, with exact-type assertions) and the Vite app must compile under
//   `tsc --noEmit --strict`;
// - the declarations also check under `--lib es2020,dom` (tsconfig.es2020.json), strict and
//   without skipLibCheck;
// - negative.ts must not: each line marked `// error: TSnnnn` must fail with that code, and no
//   other line may fail, so a declaration that degrades (to `any`, say) is caught.
// Needs pkg/ and pkg-web/ (scripts/build.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

/** Runs tsc on a project; resolves with its exit status and diagnostics. */
function tsc(project) {
  const run = spawnSync(TSC, ['-p', path.join(HERE, project), '--noEmit', '--strict', '--pretty', 'false'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.error) throw run.error;
  const output = `${run.stdout}${run.stderr}`;
  const diagnostics = [...output.matchAll(/^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/gm)].map((m) => ({
    file: path.resolve(ROOT, m[1]),
    line: Number(m[2]),
    code: m[4],
    message: m[5],
  }));
  return { status: run.status, output, diagnostics };
}

test('a consumer of every export type-checks under --strict', () => {
  const { status, output } = tsc('tsconfig.json');
  assert.equal(status, 0, `tsc reported errors:\n${output}`);
});

test('the declarations type-check under --strict --lib es2020,dom without skipLibCheck', () => {
  const { status, output } = tsc('tsconfig.es2020.json');
  assert.equal(status, 0, `tsc reported errors:\n${output}`);
});

test('mistyped uses fail to type-check, each with the expected error', () => {
  const file = path.join(HERE, 'negative.ts');
  const expected = new Map(); // line -> code
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    const marker = text.match(/\/\/ error: (TS\d+)\s*$/);
    if (marker) expected.set(i + 1, marker[1]);
  });
  assert.ok(expected.size >= 30, `negative.ts has only ${expected.size} marked lines`);

  const { status, output, diagnostics } = tsc('tsconfig.negative.json');
  assert.notEqual(status, 0, 'negative.ts compiled, but every marked line should fail');
  const unexpected = diagnostics.filter((d) => d.file !== file || !expected.has(d.line));
  assert.deepEqual(unexpected, [], `errors where none were expected:\n${output}`);
  const missing = [];
  for (const [line, code] of expected) {
    const here = diagnostics.filter((d) => d.line === line);
    if (!here.some((d) => d.code === code)) {
      missing.push(`line ${line}: expected ${code}, got ${here.map((d) => `${d.code} ${d.message}`).join('; ') || 'no error'}`);
    }
  }
  assert.deepEqual(missing, [], 'mistyped uses that type-checked (or failed differently)');
});

test('the public declarations use `any` nowhere', () => {
  const dts = readFileSync(path.join(ROOT, 'pkg', 'cometkit.d.ts'), 'utf8');
  // Code only: block and line comments removed.
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const lines = code.split('\n').filter((line) => /\bany\b/.test(line)).map((line) => line.trim());
  assert.deepEqual(lines, []);
});
