#!/usr/bin/env bash
# Release packages: pkg/ for bundlers (the npm package) and pkg-web/ for plain
# <script type="module"> pages (--target web), each post-processed by scripts/package.mjs
# (minified JS, snippet re-exports, declarations that check under any `lib`). See
# scripts/release.sh for the toolchain. Extra arguments go to cargo (e.g. features).
#
# Each also holds one single-capability package per subpath (pkg/socket/, pkg-web/xhr/, ...:
# what `import { Socket } from 'cometkit/socket'` loads), each its own wasm with only that
# capability, named in package.json's `exports`. PKG_SUBPATHS="socket xhr" limits them,
# PKG_SUBPATHS= (empty) builds none; with extra cargo arguments none are built either, since
# those arguments choose the features themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/wasm-opt.sh
source scripts/release.sh
cargo_args=("$@")
subpaths="xhr xdr eventsource websocket jsonp ping socket socketio"
if [ $# -gt 0 ]; then subpaths=""; fi
subpaths=${PKG_SUBPATHS-$subpaths}
# The JavaScript exports are a feature of their own once the crate has one.
if [ -n "$JS_FEATURE" ]; then cargo_args+=(--features "$JS_FEATURE"); fi
# wasm-pack writes into its output folder without emptying it: a subpath dropped from the list
# must not stay behind.
rm -rf pkg pkg-web
for target in bundler web; do
  dir=pkg
  if [ "$target" = web ]; then dir=pkg-web; fi
  release_package "$target" "$dir" -- "${cargo_args[@]}"
  # The same cargo builds for both targets: the second only runs wasm-bindgen and wasm-opt again.
  for f in $subpaths; do
    RELEASE_QUIET=1 release_package "$target" "$dir/$f" -- --no-default-features \
      --features "$f${JS_FEATURE:+ $JS_FEATURE}"
  done
  if [ -n "$subpaths" ]; then
    # shellcheck disable=SC2086 # one argument per subpath
    node scripts/package.mjs --subpaths "$dir" $subpaths
  fi
done
