#!/bin/bash
# Builds (and caches) a Debian bookworm VM rootfs with mmdebstrap and turns it into a bootable ext4 disk for qemu e2e tests.
#
# Usage:
#   build-vm.sh rootfs                       build the cached rootfs tarball if missing; print its path
#   build-vm.sh unpack ROOTDIR               unpack the (cached) rootfs tarball into ROOTDIR (must not exist)
#   build-vm.sh image ROOTDIR OUTDIR PUBKEY [--overlay DIR]... [--run CMD]...
#                                            configure ROOTDIR (fstab, eth0 dhcp, root key), apply overlays,
#                                            run CMDs inside a chroot of it, copy vmlinuz+initrd to OUTDIR,
#                                            write OUTDIR/disk.img (4G ext4, mkfs -d) and remove ROOTDIR
#   build-vm.sh disk OUTDIR PUBKEY [--overlay DIR]... [--run CMD]...   unpack + image in one go
# Env: DIYCLOUD_E2E_CACHE (default /var/cache/diycloud-e2e), DIYCLOUD_VM_DISK_SIZE (default 4G).
# The Debian mirror is read at run time from the host's apt sources; no hostname is written here.
set -euo pipefail

CACHE="${DIYCLOUD_E2E_CACHE:-/var/cache/diycloud-e2e}"
SUITE=bookworm
DISK_SIZE="${DIYCLOUD_VM_DISK_SIZE:-4G}"
PACKAGES=(
  systemd systemd-sysv dbus udev linux-image-amd64 initramfs-tools openssh-server quota procps
  iproute2 ifupdown isc-dhcp-client stress-ng nodejs libpam-systemd pamtester sqlite3 passwd login sudo
  e2fsprogs kmod polkitd ca-certificates
  xfsprogs  # test/e2e/vm-quota.test.ts: an XFS loop filesystem with user quotas
  libnode-dev  # node headers: packaging/build-runtime-modules.sh builds better-sqlite3 against them
)
# Bump when the way the tarball is made changes (part of the cache key, like the package list).
RECIPE_VERSION=1

die() { echo "build-vm.sh: $*" >&2; exit 1; }
log() { echo "build-vm.sh: $*" >&2; }

mirror_args() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [[ -f $f ]]; then
    local uri
    uri=$(awk '/^URIs:/{print $2; exit}' "$f")
    [[ -n $uri ]] || die "no URIs: line in $f"
    echo "deb $uri $SUITE main"
    echo "deb $uri $SUITE-updates main"
    local sec
    sec=$(awk '/^URIs:/{print $2}' "$f" | grep -m1 -- '-security' || true)
    [[ -n $sec ]] && echo "deb $sec $SUITE-security main"
  elif [[ -f /etc/apt/sources.list ]]; then
    awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list | sed "s|.*|deb & $SUITE main|"
  else
    die "cannot find the Debian mirror in the host's apt sources"
  fi
}

tarball_path() {
  local key
  key=$(printf '%s\n' "$SUITE" "$RECIPE_VERSION" "${PACKAGES[@]}" | sort | sha256sum | cut -c1-16)
  echo "$CACHE/vm-$SUITE-$key.tar"
}

cmd_rootfs() {
  local tar; tar=$(tarball_path)
  mkdir -p "$CACHE"
  exec 9>"$tar.lock"
  flock 9
  if [[ ! -s $tar ]]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed"
    local inc; inc=$(IFS=,; echo "${PACKAGES[*]}")
    local -a mirrors=()
    mapfile -t mirrors < <(mirror_args)
    log "building $tar (cold build, ~1-2 min)"
    local t0=$SECONDS
    mmdebstrap --quiet --format=tar --variant=minbase --include="$inc" \
      --customize-hook='echo diycloud-vm > "$1/etc/hostname"' \
      --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 diycloud-vm\n" > "$1/etc/hosts"' \
      --customize-hook='rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id' \
      "$SUITE" "$tar.tmp.$$" "${mirrors[@]}" >&2 || { rm -f "$tar.tmp.$$"; die "mmdebstrap failed"; }
    mv "$tar.tmp.$$" "$tar"
    log "built in $((SECONDS - t0)) s"
  fi
  flock -u 9
  echo "$tar"
}

cmd_unpack() {
  local root=${1:?ROOTDIR}
  [[ -e $root ]] && die "$root already exists"
  local tar; tar=$(cmd_rootfs)
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xpf "$tar"
}

run_in_chroot() {
  local root=$1 cmd=$2 rc=0
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
  chroot "$root" /bin/sh -c "$cmd" || rc=$?
  umount -R "$root/dev" || umount -lR "$root/dev"
  umount -R "$root/sys" || umount -lR "$root/sys"
  umount "$root/proc" || umount -l "$root/proc"
  [[ $rc -eq 0 ]] || die "chroot command failed (rc=$rc): $cmd"
}

cmd_image() {
  local root=${1:?ROOTDIR} out=${2:?OUTDIR} pubkey=${3:?PUBKEY}
  shift 3
  [[ -d $root/etc ]] || die "$root is not an unpacked rootfs"
  [[ -f $pubkey ]] || die "public key $pubkey not found"
  local -a overlays=() runs=()
  while (($#)); do
    case $1 in
      --overlay) overlays+=("${2:?}"); shift 2 ;;
      --run) runs+=("${2:?}"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  mkdir -p "$out"

  echo "/dev/vda / ext4 rw,usrquota,grpquota 0 1" > "$root/etc/fstab"
  mkdir -p "$root/etc/network"
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' > "$root/etc/network/interfaces"
  install -d -m 700 "$root/root/.ssh"
  install -m 600 "$pubkey" "$root/root/.ssh/authorized_keys"
  # Speed up boots and keep the guest quiet under TCG.
  rm -f "$root"/etc/systemd/system/timers.target.wants/{apt-daily,apt-daily-upgrade,e2scrub_all,fstrim}.timer
  mkdir -p "$root/etc/ssh/sshd_config.d"
  printf 'UseDNS no\nMaxStartups 100\nMaxSessions 100\n' > "$root/etc/ssh/sshd_config.d/diycloud-e2e.conf"
  # ext4 quota files cannot be made offline (no -O quota, see below): create them on first boot.
  mkdir -p "$root/etc/systemd/system/quotaon.service.d"
  printf '[Service]\nExecStartPre=/bin/sh -c "test -e /aquota.user || /sbin/quotacheck -cugm /"\n' \
    > "$root/etc/systemd/system/quotaon.service.d/diycloud-e2e.conf"

  local d c
  for d in "${overlays[@]}"; do cp -a "$d/." "$root/"; done
  for c in "${runs[@]}"; do run_in_chroot "$root" "$c"; done

  local k i
  k=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
  i=$(ls "$root"/boot/initrd.img-* 2>/dev/null | sort -V | tail -1)
  [[ -n $k && -n $i ]] || die "no kernel/initrd in $root/boot"
  cp "$k" "$out/vmlinuz"
  cp "$i" "$out/initrd.img"

  rm -f "$out/disk.img"
  truncate -s "$DISK_SIZE" "$out/disk.img"
  # NOT -O quota: the initramfs' fsck/mount cannot handle it; quotas are set up with quotacheck inside.
  mkfs.ext4 -q -F -L diycloud-root -d "$root" "$out/disk.img"
  rm -rf --one-file-system "$root"
}

cmd_disk() {
  local out=${1:?OUTDIR} pubkey=${2:?PUBKEY}
  shift 2
  mkdir -p "$out"
  cmd_unpack "$out/root"
  cmd_image "$out/root" "$out" "$pubkey" "$@"
}

[[ $(id -u) -eq 0 ]] || die "must run as root"
sub=${1:-}
shift || true
case $sub in
  rootfs) cmd_rootfs ;;
  unpack) cmd_unpack "$@" ;;
  image) cmd_image "$@" ;;
  disk) cmd_disk "$@" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
