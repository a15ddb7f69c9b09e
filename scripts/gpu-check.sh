#!/bin/bash
# Real GPU check for a lent NVIDIA machine (bash only, no Node): two throwaway users, the device policy diycloud's
# systemd backend puts on user-UID.slice (computed here from /proc/devices the way src/core/device-rules.ts does),
# then nvidia-smi -L, CUDA initialisation (cuInit via python3 ctypes, if python3 exists) and raw opens as each user.
# Prints a PASS/FAIL table and exits 0 only when every check passed; removes its users and drop-ins on any exit.
#
#   sudo scripts/gpu-check.sh            # GPU 0 granted to one user, nothing to the other
#   sudo scripts/gpu-check.sh --dry-run  # print the DeviceAllow lists only (works without a GPU)
#
# Self-checking: each check states the outcome it expects, and a control runs the same probes as root (no policy)
# so that an EPERM is known to come from the slice's policy and not from something else on the host.
set -u
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
GRANTED=diycgpu-a
DENIED=diycgpu-b
GPU=0
RESULTS=()
FAILED=0

say() { printf '%s\n' "$*" >&2; }
record() { # name expected got
  local verdict=PASS
  [ "$2" = "$3" ] || { verdict=FAIL; FAILED=$((FAILED + 1)); }
  RESULTS+=("$(printf '%-4s  %-58s expected %-10s got %s' "$verdict" "$1" "$2" "$3")")
}

# The non-GPU character and block classes of /proc/devices, as systemd char-/block- names (GPU classes: nvidia*, drm, kfd).
session_allow() {
  awk '/^Character devices:/{t="char";next} /^Block devices:/{t="block";next}
       NF==2 && t!="" && $2 !~ /^\// && !(t=="char" && $2 ~ /^(nvidia.*|drm|kfd)$/) {print t "-" $2}' /proc/devices | sort -u
}
# What a user granted GPU $GPU opens beyond that: the shared control nodes and GPU $GPU's own node.
gpu_allow() {
  awk '/^Character devices:/{c=1;next} /^Block devices:/{c=0} c && NF==2 && $2 ~ /^(nvidia-uvm|kfd)$/ {print "char-" $2}' /proc/devices
  for p in /dev/nvidiactl /dev/nvidia-modeset /dev/nvidia-uvm /dev/nvidia-uvm-tools "/dev/nvidia$GPU"; do [ -e "$p" ] && echo "$p"; done
}
policy_args() { # granted(0|1)
  local a=(DevicePolicy=closed DeviceAllow=)
  while read -r n; do a+=("DeviceAllow=$n rw"); done < <(session_allow; [ "$1" = 1 ] && gpu_allow)
  printf '%s\n' "${a[@]}"
}

if [ "$DRY" = 1 ]; then
  echo "# user without GPUs:"; policy_args 0
  echo "# user granted GPU $GPU:"; policy_args 1
  exit 0
fi

[ "$(id -u)" = 0 ] || { say "run as root"; exit 2; }
[ -d /run/systemd/system ] || { say "systemd is not PID 1: this check uses user slices"; exit 2; }
command -v nvidia-smi >/dev/null || { say "nvidia-smi not found: not an NVIDIA host?"; exit 2; }
[ -e "/dev/nvidia$GPU" ] || { say "/dev/nvidia$GPU missing"; exit 2; }
TOTAL=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
[ "$TOTAL" -ge 1 ] || { say "nvidia-smi -L as root lists no GPU"; exit 2; }

cleanup() {
  for u in $GRANTED $DENIED; do
    id -u "$u" >/dev/null 2>&1 || continue
    local uid; uid=$(id -u "$u")
    pkill -KILL -u "$uid" 2>/dev/null
    systemctl revert "user-$uid.slice" >/dev/null 2>&1
    rm -rf "/run/systemd/system.control/user-$uid.slice.d"
    userdel -r "$u" >/dev/null 2>&1
  done
  systemctl daemon-reload
}
trap cleanup EXIT
for u in $GRANTED $DENIED; do id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u" || { say "useradd $u failed"; exit 2; }; done

apply() { # user granted(0|1)
  local uid; uid=$(id -u "$1")
  mapfile -t args < <(policy_args "$2")
  systemctl set-property --runtime "user-$uid.slice" "${args[@]}"
}
apply $GRANTED 1 && apply $DENIED 0 || { say "systemctl set-property failed"; exit 1; }

# Runs a command as $1 inside user-UID.slice (a unit of the user's own, as a login's processes would be).
as_user() {
  local uid; uid=$(id -u "$1"); shift
  systemd-run --quiet --wait --pipe --collect --uid="$uid" --slice="user-$uid.slice" -p "Environment=HOME=/tmp" /bin/bash -c "$*" 2>&1
}
OPEN='if err=$( { exec 3<>"$0"; } 2>&1 ); then echo ok; else case "$err" in *"not permitted"*) echo EPERM;; *) echo "other:$err";; esac; fi'
open_as() { as_user "$1" "bash -c '$OPEN' $2" | tail -1; }
CUINIT='import ctypes,sys
try: lib=ctypes.CDLL("libcuda.so.1")
except OSError as e: print("nolib"); sys.exit(0)
print(lib.cuInit(0))'
cuinit_as() { as_user "$1" "python3 -c '$CUINIT'" | tail -1; }
smi_count() { as_user "$1" "nvidia-smi -L 2>/dev/null | grep -c '^GPU ' ; true" | tail -1; }
smi_first() { as_user "$1" "nvidia-smi -L 2>/dev/null | head -1 | cut -d: -f1" | tail -1; }

run_checks() { # label
  record "$1 root control: open /dev/nvidia$GPU (no policy)" ok "$(bash -c "$OPEN" "/dev/nvidia$GPU")"
  record "$1 granted: open /dev/nvidia$GPU" ok "$(open_as $GRANTED "/dev/nvidia$GPU")"
  record "$1 granted: open /dev/nvidiactl" ok "$(open_as $GRANTED /dev/nvidiactl)"
  record "$1 granted: nvidia-smi -L sees exactly 1 GPU" 1 "$(smi_count $GRANTED)"
  record "$1 granted: nvidia-smi -L's GPU is GPU $GPU" "GPU $GPU" "$(smi_first $GRANTED)"
  record "$1 denied: open /dev/nvidia$GPU" EPERM "$(open_as $DENIED "/dev/nvidia$GPU")"
  record "$1 denied: open /dev/nvidiactl" EPERM "$(open_as $DENIED /dev/nvidiactl)"
  record "$1 denied: nvidia-smi -L sees no GPU" 0 "$(smi_count $DENIED)"
  if command -v python3 >/dev/null; then
    record "$1 granted: cuInit(0) = CUDA_SUCCESS" 0 "$(cuinit_as $GRANTED)"
    local d; d=$(cuinit_as $DENIED)
    [ "$d" != 0 ] && [ "$d" != nolib ] && d=nonzero
    record "$1 denied: cuInit(0) fails" nonzero "$d"
  else
    RESULTS+=("SKIP  $1 cuInit checks: python3 not installed")
  fi
  for u in $GRANTED $DENIED; do
    record "$1 $u: /dev/null and /dev/urandom" "ok ok" "$(open_as "$u" /dev/null) $(open_as "$u" /dev/urandom)"
    record "$1 $u: a pty with /dev/tty (script)" 0 "$(as_user "$u" "script -qec \"sh -c ': </dev/tty'\" /dev/null >/dev/null 2>&1; echo \$?" | tail -1)"
  done
}

say "GPUs (root): $(nvidia-smi -L | tr '\n' ';')"
run_checks "[applied]"
systemctl daemon-reload
run_checks "[after daemon-reload]"

printf '\n%s\n' "${RESULTS[@]}"
if [ "$FAILED" = 0 ]; then echo "gpu-check: ALL PASS"; exit 0; fi
echo "gpu-check: $FAILED FAILED"
exit 1
