#!/usr/bin/env bash
# Environment for the notebook and browser tests (test/kernel, test/browser), set up idempotently: a second run
# with nothing changed takes about a second.
#   - Debian's Chromium and fonts (apt; a browser is never downloaded)
#   - a Python venv outside git (node_modules/.cache/paligemma-lab/venv, so `npm ci` starts it afresh) with
#     JupyterLab and nbconvert from PyPI
#   - lab-extension/ built with the official tooling (`jupyter labextension build`, via its npm script) and
#     pip-installed into the venv as the prebuilt extension `jupyterlab_paligemma`
#   - tslab's kernelspec in the venv, starting this repo's tslab
#   - notebooks/node_modules/paligemma-ts -> the repo (what `npm install paligemma-ts` gives a user)
# and writes node_modules/.cache/paligemma-lab/env.json, which the tests read.
#
# Usage: bash .ci/browser.sh           set up / bring up to date
#        bash .ci/browser.sh --check   only check; exit 1 naming what is missing
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB=${PALIGEMMA_LAB_DIR:-$ROOT/node_modules/.cache/paligemma-lab}
VENV=$LAB/venv
PY_PKGS=("jupyterlab>=4.6,<4.7" "nbconvert>=7.16,<8" "hatchling>=1.5" "hatch-jupyter-builder>=0.5" "hatch-nodejs-version>=0.3.2")
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
log() { echo "[browser.sh] $*" >&2; }
missing() {
  log "missing: $1"
  log "run \`npm run setup:browser\` (bash .ci/browser.sh) to set up the browser/notebook test environment"
  exit 1
}

mkdir -p "$LAB"
exec 9>"$LAB/.lock"
flock 9 # one setup at a time (several `npm test` runs may start together)

if [ ! -d node_modules/@jupyterlab/builder ] || [ ! -d node_modules/tslab ]; then
  [ $CHECK = 1 ] && missing "node packages (npm ci)"
  log "node packages missing: run npm ci first"; exit 1
fi

# 1. Chromium from Debian.
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$CHROMIUM" ]; then
  [ $CHECK = 1 ] && missing "chromium (apt-get install chromium)"
  log "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  CHROMIUM=$(command -v chromium)
fi

# 2. Python venv with JupyterLab and nbconvert.
PY_STAMP="${PY_PKGS[*]}"
if [ ! -x "$VENV/bin/jupyter-lab" ] || [ "$(cat "$LAB/python.stamp" 2>/dev/null)" != "$PY_STAMP" ]; then
  [ $CHECK = 1 ] && missing "python venv with jupyterlab at $VENV"
  log "creating $VENV (jupyterlab, nbconvert)"
  mkdir -p "$LAB"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
  echo "$PY_STAMP" >"$LAB/python.stamp"
  rm -f "$LAB/extension.stamp"
fi

# 3. The lab extension: build (official tooling) and install into the venv when its sources changed.
EXT_STAMP=$( (cd lab-extension && cat package.json tsconfig.json webpack.config.js pyproject.toml install.json style/*.css src/*.ts jupyterlab_paligemma/__init__.py; cat "$ROOT/src/display/protocol.ts") | sha256sum | cut -c1-16)
if [ "$(cat "$LAB/extension.stamp" 2>/dev/null)" != "$EXT_STAMP" ] || [ ! -f lab-extension/jupyterlab_paligemma/labextension/package.json ]; then
  [ $CHECK = 1 ] && missing "the built lab extension (lab-extension sources changed since the last build)"
  # npm workspaces link lab-extension into node_modules; with that link (and a node_modules folder in
  # lab-extension) JupyterLab's builder uses the hoisted packages and never runs its own yarn (jlpm) install.
  if [ "$(readlink -f node_modules/jupyterlab-paligemma)" != "$ROOT/lab-extension" ]; then
    log "node_modules/jupyterlab-paligemma is not linked to lab-extension: run npm ci"; exit 1
  fi
  mkdir -p lab-extension/node_modules
  log "building lab-extension (tsc + jupyter labextension build; ~2 min)"
  rm -rf lab-extension/lib lab-extension/jupyterlab_paligemma/labextension
  (cd lab-extension && PATH="$VENV/bin:$PATH" npm run --silent build >"$LAB/extension-build.log" 2>&1) || { tail -40 "$LAB/extension-build.log"; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./lab-extension
  echo "$EXT_STAMP" >"$LAB/extension.stamp"
fi

# 4. tslab kernelspec (argv points at this checkout's tslab).
SPEC=$VENV/share/jupyter/kernels/tslab/kernel.json
if ! grep -q "$ROOT/node_modules/.bin/tslab" "$SPEC" 2>/dev/null; then
  [ $CHECK = 1 ] && missing "tslab kernelspec in $VENV"
  node_modules/.bin/tslab install --python="$VENV/bin/python" --binary="$ROOT/node_modules/.bin/tslab" --sys-prefix >/dev/null
fi

# 5. The notebooks resolve `paligemma-ts` like a user's project does.
if [ "$(readlink notebooks/node_modules/paligemma-ts 2>/dev/null)" != "../.." ]; then
  mkdir -p notebooks/node_modules
  ln -sfn ../.. notebooks/node_modules/paligemma-ts
fi

cat >"$LAB/env.json" <<JSON
{ "venv": "$VENV", "python": "$VENV/bin/python", "jupyter": "$VENV/bin/jupyter", "chromium": "$CHROMIUM", "extensionStamp": "$EXT_STAMP" }
JSON
log "ready: $LAB/env.json"
