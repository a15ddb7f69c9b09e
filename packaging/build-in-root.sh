#!/bin/bash
# Runs inside a distribution's build root (chroot, made by packaging/build-packages.sh): builds the native
# code with that distribution's compiler and Node headers, stages the files, and assembles the .deb.
# Usage (in the chroot): build-in-root.sh DEBVERSION DIST [rpm]
#   /build/src      the source tree, with dist/ (the compiled JavaScript) already built
#   /build/modules  production node_modules, fetched without install scripts (nothing compiled yet)
#   /build/out      the .deb lands here; with "rpm", /build/stage-rpm is staged for rpmbuild as well
set -euo pipefail
DEBVERSION=${1:?usage: build-in-root.sh DEBVERSION DIST [rpm]}
DIST=${2:?usage: build-in-root.sh DEBVERSION DIST [rpm]}
WANT_RPM=${3:-}
SRC=/build/src MODULES=/build/modules/node_modules STAGE=/build/stage-deb OUT=/build/out
say() { echo "build-in-root.sh [$DIST]: $*" >&2; }
die() { say "$*"; exit 1; }
mkdir -p "$OUT"

# 1. The C parts (PAM module, pam_exec program, password verifier) with this distribution's gcc and libraries.
say "building the PAM module and helpers with $(cc --version | head -n1)"
(cd "$SRC" && sh pam/build.sh)

# 2. Native addons against this distribution's nodejs (libnode-dev headers), with its node-gyp, offline.
node_major=$(node -p 'process.versions.node.split(".")[0]')
node_abi=$(node -p 'process.versions.modules')
if [ -e /build/modules/.built ]; then
  say "node_modules: addons already built for node $(node --version) (ABI $node_abi), from the cache"
else
  for gyp in "$MODULES"/*/binding.gyp; do
    dir=$(dirname "$gyp")
    say "node-gyp rebuild $(basename "$dir") for node $(node --version) (ABI $node_abi)"
    (cd "$dir" && node-gyp rebuild --release --nodedir=/usr --jobs="$(nproc)" --loglevel=warn) >&2
  done
  touch /build/modules/.built
  # build-packages.sh keeps this copy for the next build (compiling SQLite is the slow part).
  cp -a /build/modules /build/modules-built
fi
# The run-time closure only, and of each addon only its .node file.
node "$SRC/packaging/prune-modules.js" "$SRC/package.json" "$MODULES"
node -e '
  const D = require(process.argv[1] + "/better-sqlite3"); new D(":memory:").exec("create table t(x)");
  for (const m of ["dbus-next", "zod", "commander"]) require(process.argv[1] + "/" + m);' "$MODULES" \
  || die "the production modules do not load with this distribution's node $(node --version)"

# 3. Stage every file under its final path: packaging/install.sh, the same step a development install runs.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pamdir=$(dirname "$(dpkg -L libpam-modules | grep -m1 "/$multiarch/security/pam_unix.so\$")")
[ -n "$pamdir" ] || die "cannot find pam_unix.so in libpam-modules"
rm -rf "$STAGE"
bash "$SRC/packaging/install.sh" --destdir "$STAGE" --node-modules "$MODULES" --pam-module-dir "$pamdir" --pam-family debian
# The state directory is made at install time (tmpfiles.d, mode 0700) and by the unit, not shipped: dpkg would
# own it, and lintian expects shipped directories to be 0755 (non-standard-dir-perm).
rmdir "$STAGE/var/lib/diycloud" "$STAGE/var/lib" "$STAGE/var"
# Debug symbols and notes are not shipped (lintian: unstripped-binary-or-object).
find "$STAGE" -type f \( -name '*.so' -o -name '*.node' \) -exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} +
strip --remove-section=.comment --remove-section=.note "$STAGE"/usr/libexec/diycloud/pam-hook "$STAGE"/usr/libexec/diycloud/pam-verify
if [ "$WANT_RPM" = rpm ]; then
  # The same tree for RPM systems: modules in /usr/lib64/security, pam-verify's service over system-auth.
  rm -rf /build/stage-rpm && cp -a "$STAGE" /build/stage-rpm
  mkdir -p /build/stage-rpm/usr/lib64/security
  mv "/build/stage-rpm$pamdir/pam_diycloud.so" /build/stage-rpm/usr/lib64/security/
  rmdir -p --ignore-fail-on-non-empty "/build/stage-rpm$pamdir"
  rm -rf /build/stage-rpm/usr/share/pam-configs
  install -d -m 0700 /build/stage-rpm/var/lib/diycloud   # rpm owns it (%dir %attr(0700)); dpkg does not
  install -m 0644 "$SRC/pam/diycloud-redhat.pam" /build/stage-rpm/usr/lib/diycloud/pam.d/diycloud
  echo "$node_major" > /build/stage-rpm.node-major
fi

# 4. Debian's own files: copyright and changelog, lintian overrides, the control area.
doc=$STAGE/usr/share/doc/diycloud
install -m 0644 "$SRC/packaging/deb/copyright" "$doc/copyright"
sed -e "s/@VERSION@/$DEBVERSION/" -e "s/@DIST@/$DIST/" -e "s/@UPSTREAM@/${DEBVERSION%%-*}/" \
    -e "s/@DATE@/$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")/" "$SRC/packaging/deb/changelog" \
  | gzip -9n > "$doc/changelog.Debian.gz"
install -D -m 0644 "$SRC/packaging/deb/lintian-overrides" "$STAGE/usr/share/lintian/overrides/diycloud"

control=$STAGE/DEBIAN
install -d -m 0755 "$control"
for s in postinst prerm postrm; do install -m 0755 "$SRC/packaging/deb/$s" "$control/$s"; done
install -m 0644 "$SRC/packaging/deb/conffiles" "$control/conffiles"
# Shared-library dependencies of every ELF file, as dpkg-shlibdeps works them out (it wants a debian/control).
shtmp=$(mktemp -d)
mkdir "$shtmp/debian" && printf 'Source: diycloud\n\nPackage: diycloud\nArchitecture: any\n' > "$shtmp/debian/control"
mapfile -t elves < <(find "$STAGE" -type f ! -path "$control/*" -print0 | xargs -0 file -N -0 | sed -n 's/\x00:* *ELF .*//p')
shlibs=$(cd "$shtmp" && dpkg-shlibdeps -O -e"${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shtmp"
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies"
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
# The addon is built for this nodejs major (its ABI): pin it, as the issue asks.
nodejs="nodejs (>= $node_major), nodejs (<< $((node_major + 1)))"
sed -e "s/@VERSION@/$DEBVERSION/" -e "s/@ARCH@/$(dpkg --print-architecture)/" -e "s/@SIZE@/$size/" \
    -e "s/@NODEJS@/$nodejs/" -e "s/@SHLIBS@/$shlibs/" "$SRC/packaging/deb/control.in" > "$control/control"
if grep -q '@[A-Z]*@' "$control/control"; then die "unfilled placeholder in $control/control"; fi
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$control/md5sums"
chmod 0644 "$control/md5sums"

deb=$OUT/diycloud_${DEBVERSION}_$(dpkg --print-architecture).deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$deb" >&2
say "built $deb ($(du -h "$deb" | cut -f1))"

# 5. This distribution's lintian: no errors and no warnings (every override in lintian-overrides says why).
lintian --fail-on error,warning --tag-display-limit 0 "$deb" | tee "$OUT/lintian-$DIST.txt" >&2 \
  || die "lintian reports errors or warnings (above; also in lintian-$DIST.txt)"
say "lintian: clean"
