#!/usr/bin/env bash
# Installs everything cometkit's build, demo and tests need, skipping whatever is already present.
# As root it installs; otherwise it prints exactly what is missing and how to install it, and fails.
# wasm-opt comes from the npm package `binaryen` (see scripts/wasm-opt.sh): Debian's binaryen 108
# corrupts wasm-bindgen 0.2.130 output.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

root=false
[ "$(id -u)" = 0 ] && root=true
missing=()   # human-readable install commands for a non-root user

# The wasm-bindgen CLI must match the library version in Cargo.lock exactly, or wasm-pack would
# try to download one.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || { echo "bootstrap: cannot read the wasm-bindgen version from Cargo.lock" >&2; exit 1; }

step() { printf '[bootstrap] %s\n' "$*"; }

command -v cargo >/dev/null || { echo "bootstrap: cargo not found; install Rust with rustup first" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  if $root; then step "adding the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown
  else missing+=("rustup target add wasm32-unknown-unknown"); fi
fi

# The release package is built with nightly's -Zbuild-std when a nightly toolchain is there
# (scripts/release.sh); it needs std's sources and the wasm32 target. Optional: without nightly
# the package is built on stable, so nightly itself is never installed here.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  nightly_missing=()
  rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' \
    || nightly_missing+=("rustup component add rust-src --toolchain nightly")
  rustup target list --toolchain nightly --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || nightly_missing+=("rustup target add wasm32-unknown-unknown --toolchain nightly")
  for cmd in "${nightly_missing[@]}"; do
    if $root; then step "$cmd"; $cmd
    else echo "bootstrap: optional, for a smaller release package: $cmd" >&2; fi
  done
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  if $root; then step "installing wasm-bindgen-cli $wb_version"; cargo install -q --force wasm-bindgen-cli --version "$wb_version"
  else missing+=("cargo install --force wasm-bindgen-cli --version $wb_version"); fi
fi

for tool in wasm-pack geckodriver; do
  if ! command -v "$tool" >/dev/null; then
    if $root; then step "installing $tool"; cargo install -q "$tool"
    else missing+=("cargo install $tool"); fi
  fi
done

apt_pkgs=()
[ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
[ -x /usr/bin/chromedriver ] || apt_pkgs+=(chromium-driver)
[ -x /usr/bin/firefox-esr ] || apt_pkgs+=(firefox-esr)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if $root; then
    step "installing ${apt_pkgs[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
  else missing+=("sudo apt-get install -y ${apt_pkgs[*]}"); fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm deps live in the project; any user may install them.
  step "installing npm dependencies"; npm ci --no-audit --no-fund --loglevel=error
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: not running as root and these are missing; install them, then run again:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
