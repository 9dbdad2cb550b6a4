# Sourced by the scripts that make release wasm builds: puts a wasm-opt that understands
# wasm-bindgen's output first on PATH, where wasm-pack looks for it.
#
# Debian 12's wasm-opt (binaryen 108) mis-reads the externref table wasm-bindgen 0.2.130 emits:
# even with no passes (-O0) it rewrites the `__wbindgen_externrefs` export to point at the
# function table, and the module then fails to start in the browser ("WebAssembly.Table.set():
# Argument 1 is invalid for table"). The npm package `binaryen` (a devDependency, 132) is
# verified to work, so nothing older is accepted.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
wasm_opt_version=$(wasm-opt --version 2>/dev/null | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')
if [ -z "$wasm_opt_version" ] || [ "$wasm_opt_version" -lt 132 ]; then
  echo "wasm-opt ${wasm_opt_version:-not found} is too old for wasm-bindgen's output (needs >= 132):" \
    "run npm ci to install the npm package binaryen" >&2
  exit 1
fi
