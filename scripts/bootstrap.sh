#!/usr/bin/env bash
# First-use installer behind the two commands: `npm start` and `npm test` run it as their pre-script
# (prestart / pretest), so a fresh clone needs nothing else. Idempotent and quick (~2 s) once done.
#   bootstrap.sh start   npm dependencies + what the platform needs (nginx, a JDK for the MongoDB wire server)
#   bootstrap.sh test    npm dependencies + every server the tests start (Ceph, Keycloak, Zipkin, …)
# npm dependencies: `npm ci` from the committed lockfile whenever node_modules is missing or was
# installed from another package-lock.json (a stamp in node_modules records which).
set -euo pipefail
PROFILE=${1:-test}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { echo "[bootstrap] $*"; }

lock=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.isekai-lockfile.sha256
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock" ]; then
  if [ -d node_modules ]; then log "package-lock.json changed since the last install: npm ci"
  else log "first run: installing npm dependencies (npm ci, 1–3 min)"; fi
  t0=$SECONDS
  # --loglevel=error: the machine's own Node (20 here) runs npm and warns EBADENGINE against our
  # engines field; every npm script then runs the pinned Node 24 from node_modules/.bin, so the warning
  # is moot. Real errors still print.
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" >"$stamp"
  log "npm dependencies installed in $((SECONDS - t0)) s ($(node_modules/.bin/node --version) pinned)"
fi

bash scripts/install-deps.sh "$PROFILE"
