#!/usr/bin/env bash
# Installs what building Vigie's UI needs, skipping what is already there. Only package
# registries are used (crates.io, npm, Debian); nothing downloads a prebuilt binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p "$VIGIE_CACHE/tools"

rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The test command's gates: formatting and lints.
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

if ! cargo-leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # 0.3.10 builds on stable 1.95 with its locked dependencies; no_downloads keeps it offline.
  CARGO_TARGET_DIR="$VIGIE_CACHE/tooltarget" cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked \
    --features no_downloads --root "$VIGIE_CACHE/tools"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Without --locked: the registry lacks one of its locked dependency versions.
  CARGO_TARGET_DIR="$VIGIE_CACHE/tooltarget" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
    --root "$VIGIE_CACHE/tools"
fi
grep -q "version = \"$WASM_BINDGEN_VERSION\"" <(grep -A1 'name = "wasm-bindgen"' Cargo.lock) \
  || { echo "Cargo.lock's wasm-bindgen differs from $WASM_BINDGEN_VERSION" >&2; exit 1; }

# Build-time JavaScript (wasm-opt) and the browser-test runner, exactly as locked.
npm_install() { # dir
  if ! (cd "$1" && sha256sum --status -c node_modules/.vigie-lock.sha256) 2>/dev/null; then
    (cd "$1" && npm ci --no-audit --no-fund)
    (cd "$1" && sha256sum package-lock.json > node_modules/.vigie-lock.sha256)
  fi
}
npm_install .
npm_install end2end
npm_install bench

# MapLibre GL JS ships with the site (public/ is copied into it): no CDN, ever.
vendor=public/vendor/maplibre-gl
if ! cmp -s node_modules/maplibre-gl/dist/maplibre-gl.mjs "$vendor/maplibre-gl.mjs"; then
  mkdir -p "$vendor"
  cp node_modules/maplibre-gl/dist/{maplibre-gl.mjs,maplibre-gl-worker.mjs,maplibre-gl-shared.mjs,maplibre-gl.css} \
     node_modules/maplibre-gl/LICENSE.txt "$vendor/"
fi

# The independent verifier of audit exports (tools/verify_audit.py) uses Python's `cryptography`
# for Ed25519: Debian's package.
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-cryptography
fi

# The TAK peers of the interoperability tests (pytak, FreeTAKServer) from PyPI, in a venv of their
# own; FreeTAKServer runs in a loopback-only network namespace (`ip`, `unshare`).
apt_missing=()
python3 -c 'import ensurepip' 2>/dev/null || apt_missing+=(python3-venv)
command -v ip >/dev/null || apt_missing+=(iproute2)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${apt_missing[@]}"
fi
tak_venv="$VIGIE_CACHE/tools/tak-venv"
if ! sha256sum --status -c "$tak_venv/.vigie-requirements.sha256" 2>/dev/null; then
  python3 -m venv "$tak_venv"
  "$tak_venv/bin/pip" install -q --disable-pip-version-check -r tools/tak-requirements.txt
  # The CAP schema's package, without its dependencies (see the file).
  "$tak_venv/bin/pip" install -q --disable-pip-version-check --no-deps -r tools/cap-requirements.txt
  sha256sum tools/tak-requirements.txt tools/cap-requirements.txt > "$tak_venv/.vigie-requirements.sha256"
fi

# Debian's Chromium for the browser tests (never a downloaded one).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
