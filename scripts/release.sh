# Sourced by the scripts that make release packages (build.sh, size.sh, start.sh): one place for
# how a shipped package is built.
#
#   release_package <target> <outdir> [wasm-pack flags...] -- [cargo args...]
#
# runs `wasm-pack build --release` for <target> (bundler | web) into <outdir>, then
# scripts/package.mjs (snippet re-exports, .d.ts fixes, minified JS). RELEASE_QUIET=1 quiets
# wasm-pack. Sets:
#   JS_FEATURE       `js` when Cargo.toml has that feature (it gates the JavaScript exports), else
#                    empty: append it to the features of every package build.
#   RELEASE_NIGHTLY  true when the nightly toolchain with rust-src and the wasm32 target is present.
#
# With nightly, std is rebuilt for size (`-Zbuild-std`, `optimize_for_size`) and panics abort
# at once without formatting a message (`-Cpanic=immediate-abort`, no location details, no
# `Debug` formatting), which drops core::fmt and the panic runtime from the wasm. Only the
# release package gets this; `cargo build`/`cargo test` stay on stable for Rust users.
# COMETKIT_STABLE=1 forces the stable build (to compare sizes).

export PATH="$HOME/.cargo/bin:$PATH"

JS_FEATURE=
if grep -qE '^js[[:space:]]*=' Cargo.toml; then JS_FEATURE=js; fi

RELEASE_NIGHTLY=false
if [ "${COMETKIT_STABLE:-0}" != 1 ] \
  && rustup run nightly rustc --version >/dev/null 2>&1 \
  && rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' \
  && rustup target list --toolchain nightly --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  RELEASE_NIGHTLY=true
fi
if [ "${release_note_printed:-}" != 1 ]; then
  if $RELEASE_NIGHTLY; then
    echo "[release] nightly toolchain: std rebuilt for size with immediate-abort panics" >&2
  elif [ "${COMETKIT_STABLE:-0}" = 1 ]; then
    echo "[release] COMETKIT_STABLE=1: stable toolchain, std as shipped" >&2
  else
    echo "[release] note: no nightly toolchain with rust-src and wasm32-unknown-unknown; building on" \
      "stable (a larger wasm). scripts/bootstrap.sh installs them." >&2
  fi
  release_note_printed=1
fi

release_package() { # target outdir [wasm-pack flags...] -- [cargo args...]
  local target=$1 outdir=$2
  shift 2
  local pack_flags=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do pack_flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift # the --
  if $RELEASE_NIGHTLY; then
    # Its own target dir: switching toolchains in one dir would rebuild everything each time.
    RUSTUP_TOOLCHAIN=nightly CARGO_TARGET_DIR="$PWD/target/release-nightly" \
      RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
      wasm-pack ${RELEASE_QUIET:+--quiet} build . --release --target "$target" --out-dir "$outdir" --out-name cometkit "${pack_flags[@]}" \
      -- -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size "$@"
  else
    wasm-pack ${RELEASE_QUIET:+--quiet} build . --release --target "$target" --out-dir "$outdir" --out-name cometkit "${pack_flags[@]}" -- "$@"
  fi
  node scripts/package.mjs "$outdir"
}
