# Shared install steps for scripts/run and scripts/test. Each step checks first and does nothing
# when its tool is already there, so re-running a script skips what is installed.
# Versions, and why each is pinned: CONTRIBUTING.md, "The toolchain".

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.10"
# wasm-bindgen-cli must equal the `wasm-bindgen` crate pinned in Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)"

export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Playwright drives Debian's Chromium; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step_started=0
step() {
  step_started=$SECONDS
  printf '\n==> %s\n' "$*"
}
done_step() {
  printf '    (%ss)\n' "$((SECONDS - step_started))"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_wasm_target() {
  step "Rust target wasm32-unknown-unknown"
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "    present"
  else
    rustup target add wasm32-unknown-unknown
  fi
  done_step
}

ensure_cargo_leptos() {
  step "cargo-leptos $CARGO_LEPTOS_VERSION"
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
    echo "    present"
  else
    echo "    installing (about 15 minutes the first time)"
    # no_downloads: a missing tool is an error naming it, not a download from the internet.
    # LTO off for this one install: it halves the build and the tool is not speed-critical.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  done_step
}

ensure_wasm_bindgen() {
  step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
    echo "    present"
  else
    # Without --locked: a dependency pinned by its lockfile is missing from the registry here.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  done_step
}

ensure_npm_packages() {
  step "npm packages (socket.io-client, binaryen, Playwright, json-schema-to-typescript, TypeScript) from package-lock.json"
  # npm writes node_modules/.package-lock.json on every install: newer than the lockfile means
  # the tree matches it.
  if [ node_modules/.package-lock.json -nt package-lock.json ]; then
    echo "    present"
  else
    npm ci --no-audit --no-fund
  fi
  # The browser loads socket.io-client from the site's own files; cargo-leptos copies public/.
  mkdir -p public/vendor
  cp node_modules/socket.io-client/dist/socket.io.min.js public/vendor/socket.io.min.js
  done_step
}

ensure_chromium() {
  step "Debian's Chromium"
  if [ -x /usr/bin/chromium ]; then
    echo "    present"
  else
    as_root apt-get update
    # The first install has been seen to die mid-way after a systemd upgrade; one retry fixes it.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
      || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
  done_step
}

# PostgreSQL and Redis for the scale-out tests, which start their own servers in temp dirs
# (the packages' own services are not used).
ensure_test_servers() {
  step "PostgreSQL and Redis (Debian's packages)"
  local missing=()
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "    present"
  else
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  fi
  done_step
}


# The TypeScript declarations of the event API, generated from the published JSON Schema by
# json-schema-to-typescript (package.json), written to $1.
write_api_declarations() {
  json2ts --input docs/api/parley-events.schema.json --output "$1" --additionalProperties false \
    --bannerComment "/* Parley's Socket.IO event API, generated from docs/api/parley-events.schema.json by scripts/publish-api. Do not edit. */"
}
