#!/bin/bash
# Turns a staged tree into diycloud's RPMs (diycloud and diycloud-web, the paths of packaging/web-files) with rpmbuild (Debian's rpm package has it): no compiling,
# the spec copies STAGE (packaging/rpm/diycloud.spec).
# Usage: packaging/rpm/build-rpm.sh STAGE OUTDIR [VERSION] [NODE_MAJOR]
#   STAGE       what packaging/install.sh --destdir STAGE --node-modules DIR --pam-module-dir /usr/lib64/security
#               --pam-family redhat produced (plus the man pages and bash completion it stages)
#   OUTDIR      diycloud-VERSION-1.ARCH.rpm and diycloud-web-VERSION-1.noarch.rpm land here
#   VERSION     default: the version in package.json
#   NODE_MAJOR  the Node.js major the native addon was built for; default: read from the addon's
#               NODE_MODULE_VERSION (108 = 18, 115 = 20, 127 = 22) in STAGE
# Fails when a path the spec lists is not staged, and when a literal %macro is left in a scriptlet.
set -euo pipefail
umask 022
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "build-rpm.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ $# -le 4 ] || die "usage: build-rpm.sh STAGE OUTDIR [VERSION] [NODE_MAJOR]"
STAGE=$(cd "$1" && pwd) || die "stage $1 is not a directory"
mkdir -p "$2"; OUTDIR=$(cd "$2" && pwd)
VERSION=${3:-$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$REPO/package.json" | head -n1)}
NODE_MAJOR=${4:-}
for t in rpmbuild rpm; do command -v "$t" >/dev/null || die "$t not found (apt-get install rpm)"; done
[[ $VERSION =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "bad version '$VERSION'"

# 1. Every path the spec lists, staged (the preset and /run/diycloud are made by the spec itself).
missing=()
for p in usr/lib/diycloud/dist/entry/daemon.js usr/lib/diycloud/node_modules usr/sbin/diycloudd usr/bin/diycloudctl \
         usr/libexec/diycloud/pam-hook usr/libexec/diycloud/pam-verify usr/lib64/security/pam_diycloud.so \
         usr/lib/systemd/system/diycloudd.service usr/lib/sysusers.d/diycloud.conf usr/lib/tmpfiles.d/diycloud.conf \
         usr/share/dbus-1/system.d/org.diycloud.Manager1.conf usr/share/dbus-1/interfaces/org.diycloud.Manager1.xml usr/share/dbus-1/interfaces/org.diycloud.Web1.xml \
         usr/share/polkit-1/actions/org.diycloud.policy usr/share/polkit-1/rules.d/50-diycloud.rules \
         usr/share/man/man1/diycloudctl.1.gz usr/share/man/man5/diycloud.conf.5.gz usr/share/man/man8/diycloudd.8.gz \
         usr/share/bash-completion/completions/diycloudctl usr/share/doc/diycloud etc/diycloud/diycloud.conf var/lib/diycloud \
         $(grep -v '^#' "$REPO/packaging/web-files"); do
  [ -e "$STAGE/$p" ] || missing+=("/$p")
done
[ ${#missing[@]} -eq 0 ] || die "the stage $STAGE lacks path(s) the spec lists: ${missing[*]}"
unexpected=$(cd "$STAGE" && find . -mindepth 1 -maxdepth 3 -type d \( -path ./usr/lib/x86_64-linux-gnu -o -path ./usr/lib/aarch64-linux-gnu -o -path ./lib \) -print)
[ -z "$unexpected" ] || die "the stage has Debian paths ($unexpected): stage with --pam-module-dir /usr/lib64/security"
grep -q system-auth "$STAGE/usr/lib/diycloud/pam.d/diycloud" || die "pam-verify's service in the stage is not the redhat one (stage with --pam-family redhat)"

# 2. The Node.js major: from the addon when not given.
if [ -z "$NODE_MAJOR" ]; then
  addon=$STAGE/usr/lib/diycloud/node_modules/better-sqlite3/build/Release/better_sqlite3.node
  [ -f "$addon" ] || die "no $addon in the stage: pass NODE_MAJOR"
  abi=$(grep -aoE 'node_register_module_v[0-9]+' "$addon" | head -n1 | grep -oE '[0-9]+$' || true)
  case "$abi" in 108) NODE_MAJOR=18;; 115) NODE_MAJOR=20;; 127) NODE_MAJOR=22;; 137) NODE_MAJOR=24;;
    *) die "cannot tell the Node.js major of $addon (ABI '${abi:-none}'): pass NODE_MAJOR";; esac
fi
[[ $NODE_MAJOR =~ ^[0-9]+$ ]] || die "bad node major '$NODE_MAJOR'"

# 3. rpmbuild in a throwaway top directory; macros.diycloud is loaded on top of rpm's own macro files.
top=$(mktemp -d); trap 'rm -rf "$top"' EXIT
reproducible=()
[ -z "${SOURCE_DATE_EPOCH:-}" ] || reproducible=(--define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1")
mkdir -p "$top/BUILD" "$top/RPMS" "$top/SPECS" "$top/BUILDROOT"
rpmbuild -bb --quiet --load "$HERE/macros.diycloud" \
  --define "_topdir $top" --define "stagedir $STAGE" --define "diycloud_version $VERSION" --define "node_major $NODE_MAJOR" \
  --define "_binary_payload w19.zstdio" --define "_build_id_links none" --define "_buildhost diycloud-build" \
  "${reproducible[@]}" \
  "$HERE/diycloud.spec" >&2
for name in diycloud diycloud-web; do
  rpmfile=$(find "$top/RPMS" -name "$name-$VERSION-1.*.rpm" | head -n1)
  [ -n "$rpmfile" ] || die "rpmbuild made no $name-$VERSION-1.*.rpm"
  # 4. No macro may reach an installed scriptlet unexpanded.
  if left=$(rpm -qp --scripts "$rpmfile" | grep -nE '%[{a-zA-Z_]'); then
    die "unexpanded macros in the scriptlets of $(basename "$rpmfile"):"$'\n'"$left"
  fi
  install -m 0644 "$rpmfile" "$OUTDIR/"
  echo "$OUTDIR/$(basename "$rpmfile")"
done
