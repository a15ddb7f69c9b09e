#!/bin/bash
# The development install step, and the staging step of the packages (packaging/build-in-root.sh): copies the
# built daemon, hook, unit, D-Bus/PAM/polkit files, man pages and completion into place.
#
# Usage: packaging/install.sh [--destdir DIR] [--node-modules DIR] [--prefix /usr]
#   --destdir DIR       stage into DIR instead of / (packaging, tests); no services are touched then
#   --node-modules DIR  use this production node_modules (DIR or DIR/node_modules), e.g. from
#                       packaging/build-runtime-modules.sh; default: npm ci --omit=dev --omit=optional
#   --prefix P          default /usr (/etc/diycloud and /var/lib/diycloud are not affected)
#   --pam-module-dir D  where pam_diycloud.so goes; default: the directory holding pam_unix.so
#   --pam-family F      debian or redhat: which system stacks pam-verify's PAM service includes
#                       (common-auth/common-account or system-auth); default: what this host has
#   --nginx-version V   the nginx the portal's site file is written for (packaging/nginx/for-nginx.sh: the
#                       http2 syntax changed in 1.25.1); default: this host's nginx -v, else the newer syntax
# Builds TypeScript (npm run build) only when dist/ is missing.
# For development: the packages (packaging/build-packages.sh) are the way to install on a host.
# Afterwards, enable the login hook yourself:   diycloudctl pam enable   (or: pam-auth-update --enable diycloud)
# and start the daemon:                         systemctl enable --now diycloudd.service
set -euo pipefail
umask 022

SRC=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR="" NODE_MODULES="" PREFIX=/usr PAM_DIR="" PAM_FAMILY="" NGINX_VERSION=""
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) DESTDIR=${2:?--destdir needs a value}; shift 2;;
    --destdir=*) DESTDIR=${1#*=}; shift;;
    --node-modules) NODE_MODULES=${2:?--node-modules needs a value}; shift 2;;
    --node-modules=*) NODE_MODULES=${1#*=}; shift;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2;;
    --prefix=*) PREFIX=${1#*=}; shift;;
    --pam-module-dir) PAM_DIR=${2:?--pam-module-dir needs a value}; shift 2;;
    --pam-module-dir=*) PAM_DIR=${1#*=}; shift;;
    --pam-family) PAM_FAMILY=${2:?--pam-family needs a value}; shift 2;;
    --pam-family=*) PAM_FAMILY=${1#*=}; shift;;
    --nginx-version) NGINX_VERSION=${2:?--nginx-version needs a value}; shift 2;;
    --nginx-version=*) NGINX_VERSION=${1#*=}; shift;;
    -h|--help) awk 'NR>1 && !/^#/{exit} NR>1{sub(/^# ?/, ""); print}' "$0"; exit 0;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2;;
  esac
done
die() { echo "install.sh: $*" >&2; exit 1; }
[ -z "$DESTDIR" ] || { mkdir -p "$DESTDIR" && DESTDIR=$(cd "$DESTDIR" && pwd); }
[ "$DESTDIR" != / ] || DESTDIR=""
D=$DESTDIR
LIB=$PREFIX/lib/diycloud

# 1. compiled JavaScript
if [ ! -d "$SRC/dist" ]; then
  command -v npm >/dev/null || die "dist/ is missing and npm is not available to build it (run 'npm run build')"
  echo "install.sh: dist/ missing, running npm run build" >&2
  (cd "$SRC" && npm run build) >&2
fi

# 2. every required source, reported all at once
missing=()
for f in dist/entry/daemon.js dist/pam_diycloud.so dist/pam-hook dist/pam-verify pam/diycloud.pam pam/diycloud-redhat.pam package.json schema pam/pam-configs/diycloud \
         packaging/sysusers.d/diycloud.conf packaging/tmpfiles.d/diycloud.conf packaging/bash-completion/diycloudctl \
         packaging/man/diycloudd.8 packaging/man/diycloudctl.1 packaging/man/diycloud.conf.5 packaging/release-limits.sh \
         systemd/diycloudd.service dbus/org.diycloud.Manager1.conf \
         dbus/org.diycloud.Manager1.xml dbus/org.diycloud.Web1.xml packaging/diycloud.conf \
         dist/entry/web.js dist/web/index.html systemd/diycloud-web.service packaging/web.conf packaging/man/diycloud-web.8 \
         packaging/nginx/diycloud-web.conf packaging/nginx/for-nginx.sh; do
  [ -e "$SRC/$f" ] || missing+=("$f")
done
if [ -z "$NODE_MODULES" ] && [ ! -f "$SRC/package-lock.json" ]; then missing+=("package-lock.json (or pass --node-modules)"); fi
[ ${#missing[@]} -eq 0 ] || die "missing required source file(s) in $SRC: ${missing[*]}"
compgen -G "$SRC/schema/*.sql" >/dev/null || die "no SQL migrations in $SRC/schema/*.sql"

# 3. node_modules
if [ -n "$NODE_MODULES" ]; then
  [ -d "$NODE_MODULES/node_modules" ] && NODE_MODULES=$NODE_MODULES/node_modules
  [ -d "$NODE_MODULES" ] || die "--node-modules $NODE_MODULES is not a directory"
else
  command -v npm >/dev/null || die "npm is needed to fetch node_modules (or pass --node-modules DIR)"
  stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
  cp "$SRC/package.json" "$SRC/package-lock.json" "$stage/"
  # Build native addons against the distribution's node headers (libnode-dev) when they exist.
  if [ -f /usr/include/node/common.gypi ] && [ "$(command -v node)" = /usr/bin/node ]; then export npm_config_nodedir=/usr; fi
  (cd "$stage" && npm ci --omit=dev --omit=optional --no-audit --no-fund) >&2
  NODE_MODULES=$stage/node_modules
fi
[ -d "$NODE_MODULES/better-sqlite3" ] || echo "install.sh: warning: $NODE_MODULES has no better-sqlite3" >&2

# 4. application tree
rm -rf "$D$LIB/dist" "$D$LIB/node_modules" "$D$LIB/schema" "$D$LIB/dbus" "$D$LIB/pam.d"
install -d -m 0755 "$D$LIB"
# Only the JavaScript: the native programs in dist/ are installed under their own paths below, the portal's
# front end (dist/web) goes to /usr/share/diycloud/web, and dist/packages holds built packages.
install -d -m 0755 "$D$LIB/dist"
tar -C "$SRC/dist" --exclude=./packages --exclude=./web --exclude=./pam_diycloud.so --exclude=./pam-hook --exclude=./pam-verify -cf - . \
  | tar -C "$D$LIB/dist" --no-same-owner -xf -
chmod 0755 "$D$LIB/dist/entry/daemon.js" "$D$LIB/dist/entry/cli.js" "$D$LIB/dist/entry/web.js" # #!/usr/bin/env node
# The portal's front end (built by npm run build; diycloud-web serves it, web.conf StaticDir).
rm -rf "$D$PREFIX/share/diycloud/web"
install -d -m 0755 "$D$PREFIX/share/diycloud/web"
tar -C "$SRC/dist/web" -cf - . | tar -C "$D$PREFIX/share/diycloud/web" --no-same-owner -xf -
cp -R "$NODE_MODULES" "$D$LIB/node_modules"
install -d -m 0755 "$D$LIB/schema" "$D$LIB/dbus"
cp -R "$SRC/schema/." "$D$LIB/schema/"
install -m 0644 "$SRC"/dbus/*.xml "$D$LIB/dbus/"
install -m 0644 "$SRC/package.json" "$D$LIB/package.json"

# 5. entry points
wrapper() { # wrapper DEST JSFILE
  install -d -m 0755 "$(dirname "$D$1")"
  printf '#!/bin/sh\nexec /usr/bin/node %s "$@"\n' "$LIB/dist/entry/$2" > "$D$1"
  chmod 0755 "$D$1"
}
wrapper "$PREFIX/sbin/diycloudd" daemon.js
if [ -f "$SRC/dist/entry/cli.js" ]; then wrapper "$PREFIX/bin/diycloudctl" cli.js; fi
wrapper "$PREFIX/sbin/diycloud-web" web.js
# The PAM module goes where this system's PAM loads modules from: beside pam_unix.so (the same list
# diycloudctl doctor looks in, src/core/doctor.ts PAM_MODULE_DIRS), or --pam-module-dir.
if [ -z "$PAM_DIR" ]; then
  for dir in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security /lib/aarch64-linux-gnu/security \
             /usr/lib/aarch64-linux-gnu/security /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
    if [ -e "$dir/pam_unix.so" ]; then PAM_DIR=$dir; break; fi
  done
  [ -n "$PAM_DIR" ] || die "no PAM module directory found (no pam_unix.so in the usual places): pass --pam-module-dir DIR"
fi
install -D -m 0644 "$SRC/dist/pam_diycloud.so" "$D$PAM_DIR/pam_diycloud.so"
# The same gate as a pam_exec program, for stacks that want it run as a child (docs/pam-hook.md).
install -D -m 0755 "$SRC/dist/pam-hook" "$D$PREFIX/libexec/diycloud/pam-hook"
install -D -m 0755 "$SRC/dist/pam-verify" "$D$PREFIX/libexec/diycloud/pam-verify"
# Run by the packages' removal scripts: takes diycloud's runtime limits off the user slices.
install -D -m 0755 "$SRC/packaging/release-limits.sh" "$D$LIB/release-limits"
# PAM service "diycloud": how SetPassword checks a user's current password. It lives in diycloud's own
# directory (pam-verify reads it with pam_start_confdir), so /etc/pam.d gets no file of ours; an
# /etc/pam.d/diycloud that an admin made (or an older install left) is used instead of it.
if [ -z "$PAM_FAMILY" ]; then
  if [ -e /etc/pam.d/common-auth ] || [ ! -e /etc/pam.d/system-auth ]; then PAM_FAMILY=debian; else PAM_FAMILY=redhat; fi
fi
case "$PAM_FAMILY" in
  debian) install -D -m 0644 "$SRC/pam/diycloud.pam" "$D$LIB/pam.d/diycloud";;
  redhat) install -D -m 0644 "$SRC/pam/diycloud-redhat.pam" "$D$LIB/pam.d/diycloud";;
  *) die "--pam-family must be debian or redhat, not '$PAM_FAMILY'";;
esac

# 6. system integration files
install -D -m 0644 "$SRC/systemd/diycloudd.service" "$D$PREFIX/lib/systemd/system/diycloudd.service"
install -D -m 0644 "$SRC/systemd/diycloud-web.service" "$D$PREFIX/lib/systemd/system/diycloud-web.service"
install -D -m 0644 "$SRC/dbus/org.diycloud.Manager1.conf" "$D$PREFIX/share/dbus-1/system.d/org.diycloud.Manager1.conf"
install -D -m 0644 "$SRC/dbus/org.diycloud.Manager1.xml" "$D$PREFIX/share/dbus-1/interfaces/org.diycloud.Manager1.xml"
install -D -m 0644 "$SRC/dbus/org.diycloud.Web1.xml" "$D$PREFIX/share/dbus-1/interfaces/org.diycloud.Web1.xml"
install -D -m 0644 "$SRC/pam/pam-configs/diycloud" "$D$PREFIX/share/pam-configs/diycloud"
# The role groups (sysusers.d) and the state and runtime directories (tmpfiles.d), for the packages' scripts.
install -D -m 0644 "$SRC/packaging/sysusers.d/diycloud.conf" "$D$PREFIX/lib/sysusers.d/diycloud.conf"
install -D -m 0644 "$SRC/packaging/tmpfiles.d/diycloud.conf" "$D$PREFIX/lib/tmpfiles.d/diycloud.conf"
# Man pages (gzip -9n: no name or time stamp in the header, so the output is reproducible) and bash completion.
for f in "$SRC"/packaging/man/*.[158]; do
  s=${f##*.}
  install -d -m 0755 "$D$PREFIX/share/man/man$s"
  gzip -9n -c "$f" > "$D$PREFIX/share/man/man$s/$(basename "$f").gz"
  chmod 0644 "$D$PREFIX/share/man/man$s/$(basename "$f").gz"
done
install -D -m 0644 "$SRC/packaging/bash-completion/diycloudctl" "$D$PREFIX/share/bash-completion/completions/diycloudctl"
for f in "$SRC"/docs/*.md "$SRC"/README.md; do
  install -D -m 0644 "$f" "$D$PREFIX/share/doc/diycloud/$(basename "$f")"
done
for f in "$SRC"/polkit/*.policy; do
  if [ -e "$f" ]; then install -D -m 0644 "$f" "$D$PREFIX/share/polkit-1/actions/$(basename "$f")"; fi
done
for f in "$SRC"/polkit/*.rules; do
  if [ -e "$f" ]; then install -D -m 0644 "$f" "$D$PREFIX/share/polkit-1/rules.d/$(basename "$f")"; fi
done
if [ -e "$D/etc/diycloud/diycloud.conf" ]; then
  echo "install.sh: keeping existing /etc/diycloud/diycloud.conf" >&2
else
  install -D -m 0644 "$SRC/packaging/diycloud.conf" "$D/etc/diycloud/diycloud.conf"
fi
if [ -e "$D/etc/diycloud/web.conf" ]; then
  echo "install.sh: keeping existing /etc/diycloud/web.conf" >&2
else
  install -D -m 0644 "$SRC/packaging/web.conf" "$D/etc/diycloud/web.conf"
fi
# The portal's nginx site (diycloudctl web enable links it into nginx's configuration), written for this nginx.
if [ -z "$NGINX_VERSION" ] && [ -x /usr/sbin/nginx ]; then
  NGINX_VERSION=$(/usr/sbin/nginx -v 2>&1 | sed -n 's|^nginx version: nginx/\([0-9.]*\).*|\1|p')
fi
if [ -e "$D/etc/diycloud/nginx/diycloud-web.conf" ]; then
  echo "install.sh: keeping existing /etc/diycloud/nginx/diycloud-web.conf" >&2
else
  install -d -m 0755 "$D/etc/diycloud/nginx"
  sh "$SRC/packaging/nginx/for-nginx.sh" "${NGINX_VERSION:-1.25.1}" < "$SRC/packaging/nginx/diycloud-web.conf" > "$D/etc/diycloud/nginx/diycloud-web.conf"
  chmod 0644 "$D/etc/diycloud/nginx/diycloud-web.conf"
fi
install -d -m 0700 "$D/var/lib/diycloud"

# 7. a real install: tell systemd and the bus (never enables the PAM profile). An enabled profile
# whose lines are an older version's (pam_exec of the program) is rewritten by pam-auth-update,
# which leaves PAM files an admin has edited alone and says so.
if [ -z "$D" ] && command -v pam-auth-update >/dev/null && grep -qs 'pam_exec.so.*/usr/libexec/diycloud/pam-hook' /etc/pam.d/common-session /etc/pam.d/common-account; then
  DEBIAN_FRONTEND=noninteractive pam-auth-update --package >&2 || echo "install.sh: warning: pam-auth-update --package failed: run pam-auth-update --enable diycloud" >&2
fi
if [ -z "$D" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reload dbus.service 2>/dev/null \
    || busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null 2>&1 || true
fi
echo "install.sh: installed diycloud into ${D:-/} (enable the login hook with: diycloudctl pam enable)" >&2
