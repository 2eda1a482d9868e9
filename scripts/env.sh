# Shared settings for Vigie's scripts: builds and tools live outside the clone so later
# sessions, CI and other clones reuse them.
export VIGIE_CACHE="${VIGIE_CACHE:-$HOME/.cache/vigie}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$VIGIE_CACHE/target}"
export PATH="$VIGIE_CACHE/tools/bin:$HOME/.cargo/bin:$PATH"
# Must equal the wasm-bindgen crate pinned in Cargo.toml.
export WASM_BINDGEN_VERSION=0.2.130
export CARGO_LEPTOS_VERSION=0.3.10
