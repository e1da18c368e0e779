#!/usr/bin/env bash
# Build bench/gpu/carry/: everything the GPU check (bench/gpu/run.sh) needs on an NVIDIA machine with no internet and
# no Node, in at most 64 MiB together with the working tree (the device tool's limit), then check the size.
#
#   bash bench/gpu/pack.sh            # then, with the device tool: carry ["bench/gpu/carry"], command
#                                     #   bash bench/gpu/run.sh --out "$OUT"
#
# carry/ holds (ignored by git):
#   node.xz                     this machine's Node binary, xz-compressed (~24 MB)
#   node_modules/webgpu/        Dawn's index.js + dist/linux-x64/dawn.node.xz (~5 MB compressed)
#   node_modules/deasync/       index.js + its prebuilt addon for this Node's major version (sync GPU reads)
#   bench.mjs, golden.mjs       esbuild bundles of dist/bench/gpu/bench.js and dist/test/model.golden.test.js,
#                               each behind prelude-dawn.mjs + prelude-webgpu.mjs (tfjs and the WebGPU backend inside)
#   debs/                       libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 (Debian amd64): the
#                               loaders the device README says to bring; unpacked with dpkg -x there
# Needs: xz, apt-get, and the npm registry the first time (setup-webgpu.mjs --also esbuild: all --no-save).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CARRY=bench/gpu/carry
LIMIT=$((64 * 1024 * 1024))
mkdir -p "$CARRY/node_modules/webgpu/dist/linux-x64" "$CARRY/node_modules/deasync" "$CARRY/debs"

# One install for all (npm drops what an earlier --no-save install added): the WebGPU packages and esbuild.
node scripts/setup-webgpu.mjs --also esbuild@0.25
git diff --quiet -- package.json package-lock.json || { echo "pack.sh: package.json/package-lock.json changed; restore them" >&2; exit 1; }
node node_modules/typescript/bin/tsc -p tsconfig.json

# Node: xz of this machine's binary, rebuilt only when the binary changed (xz -6 takes minutes on 2 busy cores).
NODE_BIN=$(readlink -f "$(command -v node)")
if [ ! -f "$CARRY/node.xz" ] || [ "$NODE_BIN" -nt "$CARRY/node.xz" ] || [ "$(cat "$CARRY/node.version" 2>/dev/null)" != "$(node --version)" ]; then
  echo "pack: compressing $NODE_BIN ($(node --version))"
  xz -T0 -6 -c "$NODE_BIN" > "$CARRY/node.xz.partial" && mv "$CARRY/node.xz.partial" "$CARRY/node.xz"
  node --version > "$CARRY/node.version"
fi

# Dawn, compressed; its loader (index.js) as is.
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$CARRY/node_modules/webgpu/"
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
if [ ! -f "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node.xz" ] || [ "$DAWN" -nt "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node.xz" ]; then
  xz -T0 -6 -c "$DAWN" > "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
fi

# deasync: its loader and the prebuilt addon for this Node major (the carried Node is this one).
MAJOR=$(node -p 'process.versions.node.split(".")[0]')
rm -rf "$CARRY/node_modules/deasync/bin"
mkdir -p "$CARRY/node_modules/deasync/bin/linux-x64-node-$MAJOR"
cp node_modules/deasync/package.json node_modules/deasync/index.js "$CARRY/node_modules/deasync/"
cp "node_modules/deasync/bin/linux-x64-node-$MAJOR/deasync.node" "$CARRY/node_modules/deasync/bin/linux-x64-node-$MAJOR/"

# The bundles: the library, TF.js and the WebGPU backend in one file each (Dawn and deasync stay outside: native).
bundle() { # $1 output, $2 the dist entry
  printf 'import "./bench/gpu/prelude-dawn.mjs";\nimport "./bench/gpu/prelude-webgpu.mjs";\nimport "./%s";\n' "$2" |
    node_modules/.bin/esbuild --bundle --platform=node --format=esm --target=node20 --log-level=warning \
      --external:webgpu --external:deasync --external:sharp --sourcefile=entry.mjs \
      --banner:js='import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' \
      --outfile="$CARRY/$1"
}
bundle bench.mjs dist/bench/gpu/bench.js
bundle golden.mjs dist/test/model.golden.test.js

# Vulkan/EGL loaders (Debian amd64), as the device README asks.
if ! ls "$CARRY"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update -qq
  (cd "$CARRY/debs" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

# The size check: what travels is the working tree (tracked + untracked-not-ignored) plus carry/.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
carry=$(du -sb "$CARRY" | cut -f1)
total=$((tree + carry))
printf 'pack: carry %.1f MiB + working tree %.1f MiB = %.1f MiB (limit 64 MiB)\n' \
  "$(echo "$carry / 1048576" | bc -l)" "$(echo "$tree / 1048576" | bc -l)" "$(echo "$total / 1048576" | bc -l)"
[ "$total" -le "$LIMIT" ] || { echo "pack: over the 64 MiB limit" >&2; exit 1; }
