#!/bin/bash
# Builds diycloud's production node_modules with native addons compiled for the Node.js inside a Debian rootfs.
# Usage: build-runtime-modules.sh ROOTFS_DIR OUTDIR
#   ROOTFS_DIR must contain /usr/bin/node and the matching headers (Debian package libnode-dev: /usr/include/node).
#   OUTDIR/node_modules is (re)created. Results are cached in $DIYCLOUD_RUNTIME_CACHE
#   (default ${DIYCLOUD_E2E_CACHE:-/var/cache/diycloud-e2e}/runtime-modules), keyed by node headers + package-lock.json.
# Host needs: node + npm, g++, make, python3; the npm registry is whatever `npm config get registry` says.
set -euo pipefail

ROOTFS=$(realpath "${1:?usage: build-runtime-modules.sh ROOTFS_DIR OUTDIR}")
OUTDIR=${2:?usage: build-runtime-modules.sh ROOTFS_DIR OUTDIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${DIYCLOUD_RUNTIME_CACHE:-${DIYCLOUD_E2E_CACHE:-/var/cache/diycloud-e2e}/runtime-modules}
NODEDIR="$ROOTFS/usr"
HDR="$NODEDIR/include/node"

die() { echo "build-runtime-modules.sh: $*" >&2; exit 1; }
[ -x "$ROOTFS/usr/bin/node" ] || die "$ROOTFS/usr/bin/node missing"
[ -f "$HDR/common.gypi" ] && [ -f "$HDR/node_version.h" ] || die "$HDR has no node headers (install libnode-dev in the rootfs)"
for f in package.json package-lock.json; do [ -f "$REPO/$f" ] || die "$REPO/$f missing"; done
GYP="$REPO/node_modules/.bin/node-gyp"
# Under npm (npx, npm exec, npm run) the machine's npm config arrives as npm_config_* variables,
# and node-gyp lets npm_config_nodedir win over --nodedir: the addon would be built for the
# host's Node. Only our flags may choose the headers.
unset npm_config_nodedir npm_config_target npm_config_runtime npm_config_disturl npm_config_dist_url npm_config_arch npm_config_build_from_source
[ -x "$GYP" ] || die "node-gyp not found at $GYP (run npm ci in $REPO first)"

ver() { awk -v k="$1" '$1=="#define" && $2==k && $3 ~ /^[0-9]+$/ {print $3; exit}' "$HDR/node_version.h"; }
TARGET="$(ver NODE_MAJOR_VERSION).$(ver NODE_MINOR_VERSION).$(ver NODE_PATCH_VERSION)"
ABI=$(ver NODE_MODULE_VERSION)
KEY=$( { cat "$HDR/node_version.h" "$REPO/package-lock.json" "$0"; } | sha256sum | cut -c1-16)
ENTRY="$CACHE/node-$TARGET-abi$ABI-$KEY"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -d "$ENTRY/node_modules" ]; then
  echo "build-runtime-modules.sh: building for node $TARGET (ABI $ABI), cache miss: $ENTRY" >&2
  stage=$(mktemp -d "$CACHE/.stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  cp "$REPO/package.json" "$REPO/package-lock.json" "$stage/"
  # --ignore-scripts: no prebuild-install downloads and no build for the host's Node; we build below.
  (cd "$stage" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  for addon in "$stage"/node_modules/*/binding.gyp; do
    dir=$(dirname "$addon")
    echo "build-runtime-modules.sh: node-gyp rebuild $(basename "$dir") against $NODEDIR" >&2
    (cd "$dir" && "$GYP" rebuild --release --nodedir="$NODEDIR" --target="$TARGET" --jobs="$(nproc)" --loglevel=warn) >&2
    rm -rf "$dir/build/Release/obj.target" "$dir/build/Release/.deps" "$dir/build/Release/obj" "$dir/deps/sqlite3" "$dir/src"
  done
  # Verify with the rootfs's own node (chroot), not the host's.
  probe="$ROOTFS/var/tmp/diycloud-modules-probe.$$"
  mkdir -p "$probe" && cp -a "$stage/node_modules" "$probe/"
  chroot "$ROOTFS" /usr/bin/node -e '
    const D = require(process.argv[1] + "/node_modules/better-sqlite3");
    const db = new D(":memory:"); db.exec("create table t(x)");
    require(process.argv[1] + "/node_modules/dbus-next"); require(process.argv[1] + "/node_modules/zod");
    require(process.argv[1] + "/node_modules/commander");
    console.error("verified on node " + process.version + " abi " + process.versions.modules);' "${probe#"$ROOTFS"}" \
    || { rm -rf "$probe"; die "modules do not load with $ROOTFS/usr/bin/node"; }
  rm -rf "$probe"
  mkdir -p "$stage/out" && mv "$stage/node_modules" "$stage/out/"
  rm -rf "$ENTRY" && mv "$stage/out" "$ENTRY"
  rm -rf "$stage"; trap - EXIT
fi
mkdir -p "$OUTDIR"
rm -rf "$OUTDIR/node_modules"
cp -a "$ENTRY/node_modules" "$OUTDIR/node_modules"
echo "$OUTDIR/node_modules"
