# Shared settings for Vigie's scripts: builds and tools live outside the clone so later
# sessions, CI and other clones reuse them.
export VIGIE_CACHE="${VIGIE_CACHE:-$HOME/.cache/vigie}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$VIGIE_CACHE/target}"
# node_modules/.bin: wasm-opt from the npm package binaryen (release builds).
export PATH="$VIGIE_CACHE/tools/bin:$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# Must equal the wasm-bindgen crate pinned in Cargo.toml.
export WASM_BINDGEN_VERSION=0.2.130
export CARGO_LEPTOS_VERSION=0.3.10
# Browsers come from Debian; Playwright must never download one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
