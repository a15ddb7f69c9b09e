#!/bin/bash
# Builds diycloud's distribution packages, diycloud and diycloud-web (the portal, packaging/web-files): one staging
# tree (packaging/install.sh --destdir), two formats.
#
# Usage: packaging/build-packages.sh [--out DIR] [TARGET...]
#   TARGET    bookworm (Debian 12, Node 18), trixie (Debian 13, Node 20), rpm (staged in the Debian 13 build
#             root; Node 20); default: all three
#   --out DIR where the packages go (default: dist/packages in the source tree)
#
# Each Debian target is built inside that distribution's own build root (test/e2e/images/build-rootfs.sh DIST OUT
# build: its gcc, libpam, libsystemd, nodejs headers and node-gyp), so the PAM module, the helpers and the
# better-sqlite3 addon are compiled for exactly that release; the .deb is then checked by that release's lintian.
# The RPM is made from the same staged tree by packaging/rpm/build-rpm.sh (Debian's rpmbuild on this host).
# Needs root (chroot, mounts), mmdebstrap, node and npm on this host (npm fetches the modules from whatever
# registry npm is configured with, without running their install scripts). Prints each package's path.
set -euo pipefail
umask 022
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/dist/packages
targets=() root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?--out needs a directory}; shift 2;;
    --out=*) OUT=${1#*=}; shift;;
    bookworm|trixie|rpm) targets+=("$1"); shift;;
    -h|--help) awk 'NR>1 && !/^#/{exit} NR>1{sub(/^# ?/, ""); print}' "$0"; exit 0;;
    *) echo "build-packages.sh: unknown target or option '$1' (targets: bookworm trixie rpm; see --help)" >&2; exit 2;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(bookworm trixie rpm)
say() { echo "build-packages.sh: $*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the build roots are chroots)"
for c in node npm mmdebstrap chroot unshare tar; do command -v "$c" >/dev/null || die "'$c' is missing (scripts/install-deps.sh --test installs what is needed)"; done
CACHE=${DIYCLOUD_E2E_CACHE:-/var/cache/diycloud-e2e}
UPSTREAM=$(node -p 'require(process.argv[1]).version' "$REPO/package.json")
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
# Reproducible timestamps (changelog date, gzip, dpkg-deb): the last commit's time where there is one.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}

# The compiled JavaScript is the same for every target; the C parts are rebuilt in each build root.
if [ ! -f "$REPO/dist/entry/daemon.js" ] || [ ! -f "$REPO/dist/entry/cli.js" ]; then
  say "dist/ is missing: npm run build"; (cd "$REPO" && npm run build --silent) >&2
fi

# Production modules without their install scripts (nothing is compiled for this host's Node), cached by the lock.
key=$(cat "$REPO/package-lock.json" | sha256sum | cut -c1-16)
modules=$CACHE/package-modules-$key
mkdir -p "$CACHE"
if [ ! -d "$modules/node_modules" ]; then
  say "fetching production node_modules (npm ci --omit=dev --ignore-scripts)"
  tmp=$(mktemp -d "$CACHE/.package-modules.XXXXXX")
  cp "$REPO/package.json" "$REPO/package-lock.json" "$tmp/"
  (cd "$tmp" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  rm -f "$tmp/package.json" "$tmp/package-lock.json"
  rm -rf "$modules" && mv "$tmp" "$modules"
fi

build_one() { # build_one DIST [rpm]
  local dist=$1 rpm=${2:-} tarball debversion built status=0
  case "$dist" in bookworm) debversion=$UPSTREAM-1+deb12;; trixie) debversion=$UPSTREAM-1+deb13;; esac
  tarball=$(bash "$REPO/test/e2e/images/build-rootfs.sh" "$dist" "$CACHE/out" build | tail -n1)
  root=$(mktemp -d "${TMPDIR:-/var/tmp}/diycloud-pkg-$dist.XXXXXX")
  trap 'rm -rf -- "$root"' EXIT
  say "[$dist] unpacking the build root"
  tar -C "$root" -xpf "$tarball"
  mkdir -p "$root/build/src" "$root/build/modules"
  tar -C "$REPO" --exclude=./.git --exclude=./node_modules --exclude=./dist/packages -cf - . | tar -C "$root/build/src" -xf -
  # The addons built in this build root before, for this lock file (cached: compiling SQLite is the slow part).
  built=$CACHE/package-built-$dist-$(cat "$REPO/package-lock.json" <(basename "$tarball") | sha256sum | cut -c1-16)
  if [ -e "$built/.built" ]; then cp -a "$built/." "$root/build/modules/"; else cp -a "$modules/node_modules" "$root/build/modules/"; fi
  # A private mount namespace: /proc and /dev for the compilers vanish with it, whatever happens.
  unshare -m --propagation private /bin/sh -ec '
    mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"
    exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
      SOURCE_DATE_EPOCH="$2" /bin/bash /build/src/packaging/build-in-root.sh "$3" "$4" "$5"' \
    sh "$root" "$SOURCE_DATE_EPOCH" "$debversion" "$dist" "$rpm" >&2 || status=$?
  # Keep the built addons even when a later step (lintian) failed: the next run starts from them.
  if [ ! -e "$built/.built" ] && [ -e "$root/build/modules-built/.built" ]; then
    rm -rf "$built" && mv "$root/build/modules-built" "$built"
    find "$CACHE" -maxdepth 1 -name "package-built-$dist-*" ! -name "$(basename "$built")" -exec rm -rf {} +
  fi
  [ "${status:-0}" = 0 ] || die "[$dist] the build in the build root failed (above)"
  cp "$root"/build/out/*.deb "$OUT/"
  cp "$root/build/out/lintian-$dist.txt" "$OUT/"
  ls "$OUT"/diycloud_"$debversion"_*.deb "$OUT"/diycloud-web_"$debversion"_all.deb
  if [ "$rpm" = rpm ]; then
    bash "$REPO/packaging/rpm/build-rpm.sh" "$root/build/stage-rpm" "$OUT" "$UPSTREAM" "$(cat "$root/build/stage-rpm.node-major")"
  fi
  rm -rf -- "$root"; trap - EXIT
}

want() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
if want bookworm; then build_one bookworm; fi
if want trixie || want rpm; then
  if want rpm; then build_one trixie rpm; else build_one trixie; fi
  # trixie's .deb is built alongside the RPM's stage; drop it when only the RPM was asked for.
  want trixie || rm -f "$OUT"/diycloud_"$UPSTREAM"-1+deb13_*.deb "$OUT"/diycloud-web_"$UPSTREAM"-1+deb13_all.deb "$OUT/lintian-trixie.txt"
fi
