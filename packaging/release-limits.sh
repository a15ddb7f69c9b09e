#!/bin/sh
# /usr/lib/diycloud/release-limits: takes every limit diycloudd set off the users' slices, for package removal.
#
# diycloudd sets its limits as runtime properties of user-UID.slice (SetUnitProperties with runtime=true),
# which systemd keeps as drop-ins in /run/systemd/system.control/user-UID.slice.d/50-PROPERTY.conf until
# reboot. Removing the package must not leave them: this resets each such property on the live slice
# (running sessions keep running, now without the limit) and then removes the drop-in files.
# An admin's own runtime setting of one of these properties on a user slice is removed too.
# Usage: release-limits [--dry-run]. Exit 0 (also when systemd is not running: then nothing is set).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
CONTROL=/run/systemd/system.control
# property (as systemd names its drop-in) and the value that takes it off again
RESETS="CPUQuota=:MemoryMax=infinity:MemoryHigh=infinity:TasksMax=infinity:DeviceAllow=:DevicePolicy=auto"
dry=no
[ "${1:-}" = --dry-run ] && dry=yes
[ -d /run/systemd/system ] && [ -d "$CONTROL" ] || exit 0
released=0
for dir in "$CONTROL"/user-*.slice.d; do
  [ -d "$dir" ] || continue
  unit=$(basename "$dir" .d)
  case "$unit" in user-[0-9]*.slice) ;; *) continue;; esac
  set --
  files=""
  oldifs=$IFS; IFS=:
  for reset in $RESETS; do
    prop=${reset%%=*}
    if [ -f "$dir/50-$prop.conf" ]; then set -- "$@" "$reset"; files="$files $dir/50-$prop.conf"; fi
  done
  IFS=$oldifs
  [ $# -gt 0 ] || continue
  if [ "$dry" = yes ]; then echo "would release $unit: $*"; continue; fi
  # A slice that is not loaded any more (its user logged out) has nothing live to reset.
  if systemctl is-active --quiet -- "$unit"; then
    systemctl set-property --runtime -- "$unit" "$@" || echo "release-limits: could not reset $* on $unit" >&2
  fi
  # set-property wrote the reset values as drop-ins of the same names; remove them all.
  # shellcheck disable=SC2086
  rm -f -- $files
  rmdir -- "$dir" 2>/dev/null || true
  released=$((released + 1))
done
if [ "$released" -gt 0 ]; then
  systemctl daemon-reload || true
  echo "release-limits: took diycloud's limits off $released user slice(s)"
fi
exit 0
