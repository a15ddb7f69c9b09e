#!/usr/bin/env bash
# test-all.sh: installs everything the tests need, builds, and runs the whole suite:
# unit, integration (real dbus-daemon) and end-to-end (Debian 12 and 13 containers with systemd, qemu VM).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test
npm run build --silent
npm run typecheck --silent
echo "== unit and integration tests"
npx vitest run test/unit test/integration --exclude test/integration/flood.test.ts
# The flood test times root's hook while another process floods the daemon: it runs alone, so the
# other test files' load on this machine's cores is not part of what it measures.
echo "== integration: the login path under a flood (alone)"
npx vitest run test/integration/flood.test.ts
echo "== end-to-end tests (containers and VM; the first run builds and caches images)"
npx vitest run test/e2e
