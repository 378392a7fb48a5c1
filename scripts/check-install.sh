#!/usr/bin/env bash
# Proves the npm install is reproducible: a second `npm ci` from the committed lockfile leaves the
# lockfile byte-identical and installs the same tree (every package path and version, compared through
# the hidden lockfile npm writes into node_modules). Exits 1 and shows the difference otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tree() { node_modules/.bin/node -e '
  const l = require("./node_modules/.package-lock.json");
  for (const [p, v] of Object.entries(l.packages).sort()) console.log(p, v.version ?? "", v.integrity ?? "");
'; }
lock_before=$(sha256sum package-lock.json)
tree >"${TMPDIR:-/tmp}/isekai-tree-1.txt"
npm ci --no-audit --no-fund --loglevel=error
tree >"${TMPDIR:-/tmp}/isekai-tree-2.txt"
lock_after=$(sha256sum package-lock.json)
[ "$lock_before" = "$lock_after" ] || { echo "[check-install] package-lock.json changed during npm ci"; exit 1; }
if ! diff -u "${TMPDIR:-/tmp}/isekai-tree-1.txt" "${TMPDIR:-/tmp}/isekai-tree-2.txt"; then
  echo "[check-install] the second npm ci installed a different tree"; exit 1
fi
sha256sum package-lock.json | cut -d' ' -f1 >node_modules/.isekai-lockfile.sha256
echo "[check-install] npm ci twice: lockfile unchanged, same tree ($(wc -l <"${TMPDIR:-/tmp}/isekai-tree-2.txt") packages)"
