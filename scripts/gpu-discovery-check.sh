#!/usr/bin/env bash
# gpu-discovery-check.sh: runs diycloud's GPU discovery on this machine and compares it with nvidia-smi.
# Needs a built dist/ (npm run build) and node; prints JSON to stdout and a verdict to stderr.
set -uo pipefail
cd "$(dirname "$0")/.."
node -e '
  const fs = require("fs");
  const { discoverGpus, groupsFromEtcGroup } = require("./dist/adapters/gpu/devfs-gpus");
  const inv = discoverGpus(groupsFromEtcGroup(fs.readFileSync("/etc/group", "utf8")));
  console.log(JSON.stringify(inv, null, 2));'
echo "--- nvidia-smi -L" >&2
nvidia-smi -L >&2 || echo "(no nvidia-smi)" >&2
echo "--- ls -l /dev/nvidia* /dev/dri" >&2
ls -l /dev/nvidia* /dev/dri 2>&1 >&2 || true
