#!/usr/bin/env bash
# Makes sure a built Keycloak (Quarkus distribution) is in the cache, for CI and for the test harness
# (scripts/servers/keycloak.ts runs this when the cache lacks it).
#   $ISEKAI_CACHE/keycloak-$KEYCLOAK_VERSION/   (default ~/.cache/isekai/keycloak-26.7.3/)
# Steps, each skipped when already done: fetch org.keycloak:keycloak-quarkus-dist:<v>:zip from Maven
# Central (mvn dependency:copy), unpack, `kc.sh build` with the build-time options below (dev-file DB,
# health endpoints), then write a marker. When the marker matches it exits at once (~10 ms).
# Needs: java 17+, mvn, unzip, flock. Takes a lock, so concurrent callers wait instead of racing.
set -euo pipefail

V=${KEYCLOAK_VERSION:-26.7.3}
CACHE=${ISEKAI_CACHE:-$HOME/.cache/isekai}
KC_HOME=$CACHE/keycloak-$V
# Build-time options: changing them here triggers a rebuild on the next call.
BUILD_ARGS=(--db=dev-file --health-enabled=true)
MARKER=$KC_HOME/.isekai-build
WANT="keycloak $V build ${BUILD_ARGS[*]}"

t0=$(date +%s%N)
log() { printf '[keycloak-prefetch +%5d ms] %s\n' $((($(date +%s%N) - t0) / 1000000)) "$*"; }
die() { log "ERROR: $*"; exit 1; }

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ]; then
  log "cached: $KC_HOME"
  exit 0
fi

for bin in java mvn unzip flock; do command -v "$bin" >/dev/null || die "$bin not found"; done
mkdir -p "$CACHE"
exec 9>"$CACHE/keycloak-$V.lock"
flock 9
# Another caller may have finished while we waited for the lock.
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ]; then
  log "cached (built by a concurrent caller): $KC_HOME"
  exit 0
fi

if [ ! -x "$KC_HOME/bin/kc.sh" ]; then
  ZIP=$CACHE/dl/keycloak-quarkus-dist-$V.zip
  if [ ! -f "$ZIP" ]; then
    log "fetching org.keycloak:keycloak-quarkus-dist:$V:zip"
    mvn -B -q -Dstyle.color=never dependency:copy "-Dartifact=org.keycloak:keycloak-quarkus-dist:$V:zip" \
      "-DoutputDirectory=$CACHE/dl" || die "mvn dependency:copy failed"
  fi
  log "unpacking into $KC_HOME"
  TMP=$(mktemp -d "$CACHE/.keycloak-unpack.XXXXXX")
  unzip -q "$ZIP" -d "$TMP"
  rm -rf "$KC_HOME"
  mv "$TMP/keycloak-$V" "$KC_HOME"
  rmdir "$TMP"
  # Maven keeps its own copy in ~/.m2; this one is no longer needed.
  rm -f "$ZIP"
fi

log "kc.sh build ${BUILD_ARGS[*]}"
if ! "$KC_HOME/bin/kc.sh" build "${BUILD_ARGS[@]}" >"$KC_HOME/build.log" 2>&1; then
  tail -n 30 "$KC_HOME/build.log"
  die "kc.sh build failed (log: $KC_HOME/build.log)"
fi
echo "$WANT" >"$MARKER"
log "ready: $KC_HOME"
