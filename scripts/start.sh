#!/usr/bin/env bash
# start.sh: the main job. Installs what is needed, builds, and runs diycloudd with its embedded SQLite
# database: on the system bus where one exists, otherwise on a private bus of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh
[[ -f dist/entry/daemon.js && -z $(find src -newer dist/entry/daemon.js -name '*.ts' -print -quit) ]] || npm run build --silent

if [[ -d /run/systemd/system && -S /run/dbus/system_bus_socket ]]; then
  # A real systemd host: install like a package would and run it as the service.
  bash packaging/install.sh
  systemctl enable --now diycloudd.service
  echo
  echo "diycloudd runs as diycloudd.service on the system bus:"
  echo "  busctl introspect org.diycloud.Manager1 /org/diycloud/Manager1"
  echo "  busctl get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Backend"
  echo "Enable the login hook with: pam-auth-update --enable diycloud"
  exit 0
fi

run=${DIYCLOUD_RUN_DIR:-$root/.cache/run}
state=${DIYCLOUD_STATE_DIR:-$root/.cache/state}
mkdir -p "$run" "$state"
chmod 0755 "$run"
address=unix:path=$run/bus.sock

if [[ -S /run/dbus/system_bus_socket ]] && busctl --system status >/dev/null 2>&1; then
  address=unix:path=/run/dbus/system_bus_socket
  install -D -m 0644 dbus/org.diycloud.Manager1.conf /etc/dbus-1/system.d/org.diycloud.Manager1.conf
  busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
  echo "start.sh: using the system bus"
else
  # A private bus with the system bus's default policy plus ours (dbus/private-system-bus.conf.in).
  sed -e "s|@LISTEN@|$address|" -e "s|@POLICY@|$root/dbus/org.diycloud.Manager1.conf|" -e "s|@EXTRA@||" \
    dbus/private-system-bus.conf.in > "$run/bus.conf"
  [[ -f $run/bus.pid ]] && kill "$(cat "$run/bus.pid")" 2>/dev/null || true
  rm -f "$run/bus.sock"
  dbus-daemon --config-file="$run/bus.conf" --fork --print-pid > "$run/bus.pid"
  private_bus=1
  echo "start.sh: no system bus here; started a private bus at $address"
fi

# How to see enforcement happen: a limited user, the hook on su's PAM service, a login, the kernel's files.
walkthrough() {
  local ctl="node $root/dist/entry/cli.js --bus-address $address" cpu_file mem_file stat_file
  case $1 in
    "cgroupfs (v1)")
      cpu_file='/sys/fs/cgroup/cpu/diycloud/user-$(id -u)/cpu.cfs_quota_us'
      mem_file='/sys/fs/cgroup/memory/diycloud/user-$(id -u)/memory.limit_in_bytes'
      stat_file='/sys/fs/cgroup/cpu/diycloud/user-$(id -u)/cpu.stat' ;;
    "cgroupfs (v2)")
      cpu_file='/sys/fs/cgroup/diycloud/user-$(id -u)/cpu.max'
      mem_file='/sys/fs/cgroup/diycloud/user-$(id -u)/memory.max'
      stat_file='/sys/fs/cgroup/diycloud/user-$(id -u)/cpu.stat' ;;
    none)
      echo "start.sh: backend none: no usable cgroup hierarchy here, so limits are recorded but not enforced"
      return ;;
    *) return ;; # systemd: see `systemctl show user-UID.slice`
  esac
  cat <<TXT

See a login held to its limits (as root, in another terminal):
  1. A user in [Users] UIDMin..UIDMax, managed by diycloud, with limits:
       useradd -m -s /bin/bash demo
       $ctl user adopt demo
       $ctl limits set demo --cpu 0.2 --memory 64M
       $ctl user show demo
  2. The PAM module on su's PAM service ("su -" reads /etc/pam.d/su-l); as a session module it runs at open and close:
       cp /etc/pam.d/su-l /etc/pam.d/su-l.before-diycloud
       echo 'session required $root/dist/pam_diycloud.so conf=$hook_conf close' >> /etc/pam.d/su-l
  3. Log in; the login is in diycloud/user-UID with the quota (20000 us per 100000 us = 0.2 CPU) and limit (64M):
       su - demo
       cat /proc/self/cgroup
       cat $cpu_file
       cat $mem_file
       sh -c 'while :; do :; done' & sleep 5; ps -o pcpu=,args= -p \$!; kill \$!     # about 20 %
       grep throttled $stat_file
       exit
  4. After logout the empty groups go at the next reconcile (or the periodic one):
       $ctl reconcile
  5. Undo:
       mv /etc/pam.d/su-l.before-diycloud /etc/pam.d/su-l; userdel -r demo
TXT
}

conf=/etc/diycloud/diycloud.conf
[[ -f $conf ]] || conf=$root/packaging/diycloud.conf
# The hook reads its bus from the config: a copy of it that names this bus, for a PAM line to pass (below).
hook_conf=$run/hook.conf
awk -v bus="$address" -v rundir="$run" '
  /^[[:space:]]*\[/ { hook = ($0 ~ /^[[:space:]]*\[Hook\][[:space:]]*$/); print; if (hook) { print "BusAddress=" bus; print "RuntimeDirectory=" rundir; seen = 1 }; next }
  hook && /^[[:space:]]*(BusAddress|RuntimeDirectory)[[:space:]]*=/ { next }
  { print }
  END { if (!seen) { print "[Hook]"; print "BusAddress=" bus; print "RuntimeDirectory=" rundir } }' "$conf" > "$hook_conf"
cat <<TXT

diycloudd is starting (config $conf, database $state/diycloud.db). Reach it with:
  busctl --address=$address introspect org.diycloud.Manager1 /org/diycloud/Manager1
  busctl --address=$address get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Backend
  busctl --address=$address call org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 GetUser s root
  busctl --address=$address call org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Reconcile
Stop it with Ctrl-C.

TXT
node dist/entry/daemon.js --config "$conf" --bus-address "$address" --database "$state/diycloud.db" &
daemon=$!
cleanup() {
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  if [[ -n ${private_bus:-} ]]; then
    kill "$(cat "$run/bus.pid")" 2>/dev/null || true
    rm -f "$run/bus.sock" "$run/bus.pid"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Once it answers: which backend it chose, and how to watch it enforce a login's limits.
backend=
for _ in $(seq 1 100); do
  kill -0 "$daemon" 2>/dev/null || break
  backend=$(busctl --address="$address" get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Backend 2>/dev/null | sed -n 's/^s "\(.*\)"$/\1/p') || true
  [[ -n $backend ]] && break
  sleep 0.1
done
if [[ -n $backend ]]; then
  echo "start.sh: diycloudd is up; Backend is \"$backend\""
  walkthrough "$backend"
fi
wait "$daemon"
