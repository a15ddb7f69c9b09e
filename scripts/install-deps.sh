#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages and npm modules diycloud needs (idempotent, as root).
#   scripts/install-deps.sh          what building and running the daemon needs
#   scripts/install-deps.sh --test   plus what the whole test suite needs (containers, VM)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(dbus dbus-bin systemd sqlite3 passwd util-linux ca-certificates g++ make python3 gcc libsystemd-dev libpam0g-dev quota btrfs-progs)
if [[ ${1:-} == --test ]]; then
  want+=(mmdebstrap systemd-container qemu-system-x86 e2fsprogs xfsprogs openssh-client debian-archive-keyring tar coreutils iproute2 stress-ng pamtester rpm rpmlint man-db groff-base chromium nginx openssl curl)
fi
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "install-deps.sh: run as root to install: ${missing[*]}" >&2; exit 1; }
  echo "install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Nothing installed here is started (nginx, for one, is only run by the tests with its own prefix and
  # config): a policy-rc.d that says "not now" for the length of the install, as Debian's build tools do.
  policy=/usr/sbin/policy-rc.d ours=""
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && ours=yes && trap 'rm -f "$policy"' EXIT; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ -n $ours ]]; then rm -f "$policy"; trap - EXIT; fi
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 18)); then
  echo "install-deps.sh: Node.js 18 or newer is required (found $(node --version))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install (node_modules/.package-lock.json).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "install-deps.sh: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
