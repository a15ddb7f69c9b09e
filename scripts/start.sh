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

conf=/etc/diycloud/diycloud.conf
[[ -f $conf ]] || conf=$root/packaging/diycloud.conf
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
wait "$daemon"
