#!/usr/bin/env bash
# The web side of cometkit's tests, in order:
#   1. release packages: pkg/ (bundler), pkg-web/ (--target web) and www/pkg (the demo's copy);
#   2. the packaging step (scripts/package.mjs) on a fake package and on the built pkg-web/
#      (tests/package/); the TypeScript declarations: a consumer of every export must pass
#      `tsc --noEmit --strict`, they must also check under `--lib es2020,dom`, and a file of
#      mistyped uses must fail, line by line (tests/ts/);
#   3. a Vite app built from the bundler package (tests/vite-app/ -> target/vite-app/);
#   4. Playwright in headless Chromium: the Vite app's page, then the demo page (tests/e2e/).
#      Each test file starts its own cometkit-server on a free loopback port (18110 when
#      free) and stops it when it ends, also on failure. Screenshots: target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n== %s (%d s)\n' "$1" $((SECONDS - started)); }

step "release packages: pkg/, pkg-web/, www/pkg/"
bash scripts/build.sh
source scripts/wasm-opt.sh
# The demo page loads the --target web package from www/pkg: the same build as pkg-web/.
rm -rf www/pkg
cp -r pkg-web www/pkg

step "packaging: scripts/package.mjs on a fake package and on pkg-web/"
node --test tests/package/package.test.mjs

step "TypeScript declarations: tsc --noEmit --strict, lib es2020, and the negative test"
node --test tests/ts/types.test.mjs

step "Vite app from the bundler package"
node_modules/.bin/vite build --config tests/vite-app/vite.config.mjs

step "Playwright in headless Chromium: the Vite app and the demo page"
cargo build -q -p cometkit-server
rm -rf target/screenshots
node --test --test-concurrency=1 tests/e2e/vite-app.test.mjs tests/e2e/demo.test.mjs

step "web tests passed; screenshots in target/screenshots/"
