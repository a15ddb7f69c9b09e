#!/usr/bin/env bash
# test-all.sh: installs everything the tests need, builds, and runs the whole suite:
# unit, integration (real dbus-daemon) and end-to-end (Debian 12 and 13 containers with systemd, qemu VM).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test
npm run build --silent
npm run typecheck --silent
echo "== unit and integration tests"
npx vitest run test/unit test/integration
echo "== end-to-end tests (containers and VM; the first run builds and caches images)"
npx vitest run test/e2e
