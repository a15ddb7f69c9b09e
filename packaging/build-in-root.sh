#!/bin/bash
# Runs inside a distribution's build root (chroot, made by packaging/build-packages.sh): builds the native
# code with that distribution's compiler and Node headers, stages the files, and assembles the .deb.
# Usage (in the chroot): build-in-root.sh DEBVERSION DIST [rpm]
#   /build/src      the source tree, with dist/ (the compiled JavaScript) already built
#   /build/modules  production node_modules, fetched without install scripts (nothing compiled yet)
#   /build/out      the .debs (diycloud and diycloud-web) land here; with "rpm", /build/stage-rpm is staged for
#                   rpmbuild as well (both packages' files: the spec splits them)
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

# 4. Two packages from the one stage: diycloud-web's paths (packaging/web-files) move to their own stage.
WEBSTAGE=/build/stage-web
rm -rf "$WEBSTAGE"
while read -r p; do
  case "$p" in ''|'#'*) continue;; esac
  [ -e "$STAGE/$p" ] || die "packaging/web-files names $p, which install.sh did not stage"
  install -d -m 0755 "$WEBSTAGE/$(dirname "$p")"
  mv "$STAGE/$p" "$WEBSTAGE/$p"
done < "$SRC/packaging/web-files"

# Debian's own files for each: copyright and changelog, lintian overrides, the control area; then dpkg-deb.
debian_files() { # debian_files STAGE PACKAGE SRCDIR
  local stage=$1 pkg=$2 from=$3 doc=$1/usr/share/doc/$2 control=$1/DEBIAN s
  install -d -m 0755 "$doc"
  install -m 0644 "$from/copyright" "$doc/copyright"
  sed -e "s/@VERSION@/$DEBVERSION/" -e "s/@DIST@/$DIST/" -e "s/@UPSTREAM@/${DEBVERSION%%-*}/" \
      -e "s/@DATE@/$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")/" "$from/changelog" \
    | gzip -9n > "$doc/changelog.Debian.gz"
  if [ -f "$from/lintian-overrides" ]; then install -D -m 0644 "$from/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"; fi
  install -d -m 0755 "$control"
  for s in postinst prerm postrm; do install -m 0755 "$from/$s" "$control/$s"; done
  install -m 0644 "$from/conffiles" "$control/conffiles"
}
deb_build() { # deb_build STAGE PACKAGE SRCDIR ARCH [SHLIBS]: fills control.in, md5sums, builds; prints the .deb
  local stage=$1 pkg=$2 from=$3 arch=$4 shlibs=${5:-} control=$1/DEBIAN size deb
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  sed -e "s/@VERSION@/$DEBVERSION/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
      -e "s/@NODEJS@/$nodejs/" -e "s/@SHLIBS@/$shlibs/" "$from/control.in" > "$control/control"
  if grep -q '@[A-Z]*@' "$control/control"; then die "unfilled placeholder in $control/control"; fi
  (cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$control/md5sums"
  chmod 0644 "$control/md5sums"
  deb=$OUT/${pkg}_${DEBVERSION}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
  say "built $deb ($(du -h "$deb" | cut -f1))"
  echo "$deb"
}
debian_files "$STAGE" diycloud "$SRC/packaging/deb"
debian_files "$WEBSTAGE" diycloud-web "$SRC/packaging/deb-web"
# Shared-library dependencies of every ELF file, as dpkg-shlibdeps works them out (it wants a debian/control).
shtmp=$(mktemp -d)
mkdir "$shtmp/debian" && printf 'Source: diycloud\n\nPackage: diycloud\nArchitecture: any\n' > "$shtmp/debian/control"
mapfile -t elves < <(find "$STAGE" -type f ! -path "$STAGE/DEBIAN/*" -print0 | xargs -0 file -N -0 | sed -n 's/\x00:* *ELF .*//p')
shlibs=$(cd "$shtmp" && dpkg-shlibdeps -O -e"${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shtmp"
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies"
# The addon is built for this nodejs major (its ABI): pin it, as the issue asks.
nodejs="nodejs (>= $node_major), nodejs (<< $((node_major + 1)))"
deb_main=$(deb_build "$STAGE" diycloud "$SRC/packaging/deb" "$(dpkg --print-architecture)" "$shlibs")
deb_web=$(deb_build "$WEBSTAGE" diycloud-web "$SRC/packaging/deb-web" all)
debs=("$deb_main" "$deb_web")

# 5. This distribution's lintian: no errors and no warnings (every override in lintian-overrides says why).
lintian --fail-on error,warning --tag-display-limit 0 "${debs[@]}" | tee "$OUT/lintian-$DIST.txt" >&2 \
  || die "lintian reports errors or warnings (above; also in lintian-$DIST.txt)"
say "lintian: clean"
