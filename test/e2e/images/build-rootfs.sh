#!/bin/bash
# Builds (and caches) a bootable Debian rootfs tarball for the diycloud end-to-end container tests.
# Usage: build-rootfs.sh DIST OUTDIR [build]   (DIST = bookworm|trixie). Prints the path of OUTDIR/rootfs-DIST.tar
# (OUTDIR/buildroot-DIST.tar with "build": the same system plus the compilers, node-gyp, dpkg-dev and lintian
# that packaging/build-packages.sh builds and checks each distribution's package with).
# Cache: $DIYCLOUD_E2E_CACHE (default /var/cache/diycloud-e2e), keyed by a hash of dist + package list + this script.
set -euo pipefail

DIST=${1:?usage: build-rootfs.sh DIST OUTDIR}
OUTDIR=${2:?usage: build-rootfs.sh DIST OUTDIR}
FLAVOUR=${3:-boot}
case "$DIST" in bookworm|trixie) ;; *) echo "build-rootfs.sh: unsupported DIST '$DIST'" >&2; exit 2;; esac
case "$FLAVOUR" in boot) NAME=rootfs;; build) NAME=buildroot;; *) echo "build-rootfs.sh: unsupported flavour '$FLAVOUR'" >&2; exit 2;; esac
CACHE=${DIYCLOUD_E2E_CACHE:-/var/cache/diycloud-e2e}

# polkitd is the package name on both bookworm and trixie; libnode-dev gives node-gyp the headers
# that match the container's own nodejs (used by packaging/build-runtime-modules.sh).
# nginx (the package, on both releases: trixie has no nginx-light), openssl and curl: the portal e2e test
# (test/e2e/portal.test.ts) puts nginx with a self-signed certificate in front of diycloud-web.
PACKAGES="systemd,systemd-sysv,dbus,polkitd,libpam-systemd,openssh-server,openssh-client,sudo,iproute2,procps,nodejs,libnode-dev,pamtester,sqlite3,passwd,login,cron,libpam-runtime,util-linux,ca-certificates,nginx,openssl,curl"
# The build root: native code is compiled by the distribution's own gcc against its own libraries and
# node headers, and the .deb is checked by its own lintian.
[ "$FLAVOUR" = build ] && PACKAGES="$PACKAGES,gcc,g++,make,libc6-dev,python3,libpam0g-dev,libsystemd-dev,node-gyp,dpkg-dev,binutils,lintian,man-db,file"

# The mirror is read at run time from the host's apt configuration; never hard-code it.
SOURCES=/etc/apt/sources.list.d/debian.sources
[ -r "$SOURCES" ] || { echo "build-rootfs.sh: cannot read $SOURCES to find the Debian mirror" >&2; exit 1; }
mapfile -t URIS < <(awk '/^URIs:/{print $2}' "$SOURCES")
MIRROR=${URIS[0]:?no URIs: line in $SOURCES}
SECURITY=${URIS[1]:-}

KEY=$( { echo "$DIST $FLAVOUR"; echo "$PACKAGES"; echo "$MIRROR $SECURITY"; cat "$0"; } | sha256sum | cut -c1-16)
TARBALL="$CACHE/$NAME-$DIST-$KEY.tar"
mkdir -p "$CACHE" "$OUTDIR"

exec 9>"$CACHE/.lock-$NAME-$DIST"
flock 9
if [ ! -s "$TARBALL" ]; then
  echo "build-rootfs.sh: building $DIST rootfs (cache miss: $TARBALL)" >&2
  sources=("deb $MIRROR $DIST main" "deb $MIRROR $DIST-updates main")
  [ -n "$SECURITY" ] && sources+=("deb $SECURITY $DIST-security main")
  tmp="$TARBALL.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  mmdebstrap --variant=minbase --include="$PACKAGES" --format=tar \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook='echo diycloud-e2e > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 diycloud-e2e\n::1 localhost\n" > "$1/etc/hosts"' \
    --customize-hook='rm -f "$1/etc/machine-id" && chroot "$1" systemd-machine-id-setup' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_* && chroot "$1" ssh-keygen -A' \
    "$DIST" "$tmp" "${sources[@]}" >&2
  mv "$tmp" "$TARBALL"
  trap - EXIT
  # keep only the newest tarball per dist
  find "$CACHE" -maxdepth 1 -name "$NAME-$DIST-*.tar" ! -name "$NAME-$DIST-$KEY.tar" -delete
fi
ln -f "$TARBALL" "$OUTDIR/$NAME-$DIST.tar" 2>/dev/null || cp -f "$TARBALL" "$OUTDIR/$NAME-$DIST.tar"
echo "$OUTDIR/$NAME-$DIST.tar"
