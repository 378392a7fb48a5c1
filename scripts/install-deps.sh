#!/usr/bin/env bash
# Installs what the integration tests need on a fresh Debian 12 machine (run as root), then builds
# or fetches the Java test servers into ~/.cache/isekai. Idempotent: with everything present it
# only checks (well under 5 s) and runs no apt-get at all.
#   Debian packages: Ceph (mon, osd, radosgw, CLI) for S3, nginx + njs for the edge, wrk for the
#   benchmarks, shellcheck and openssl for the tests; curl, a JDK 17 and Maven when missing. (No browser
#   yet: chromium comes with the site's browser tests.)
#   Maven Central: the mongo-wire server (built from scripts/servers/mongo-wire) and the Zipkin server.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t_start=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
log() { echo "[install-deps] $*"; }

PACKAGES=(ceph-mon ceph-osd radosgw ceph-common nginx libnginx-mod-http-js wrk curl shellcheck openssl)
command -v java >/dev/null || PACKAGES+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || PACKAGES+=(maven)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -eq 0 ]; then
  log "apt: all ${#PACKAGES[@]} packages present"
else
  [ "$(id -u)" -eq 0 ] || { log "missing ${missing[*]}: run as root"; exit 1; }
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Without systemd, package scripts would start nginx (port 80) and radosgw through their init
  # scripts; a policy-rc.d that answers 101 stops that. Only ours is removed afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  trap 'if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
  t=$(date +%s%N)
  apt-get update -qq
  log "apt-get update: $(ms_since "$t") ms"
  t=$(date +%s%N)
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "apt-get install (${#missing[@]} packages): $(ms_since "$t") ms"
fi

t=$(date +%s%N)
"$REPO/scripts/servers/prepare-java.sh" all >/dev/null
log "java servers (mongo-wire jar, zipkin + CDS archive) ready: $(ms_since "$t") ms"

t=$(date +%s%N)
"$REPO/scripts/servers/keycloak-prefetch.sh" >/dev/null
log "keycloak distribution (download, unpack, kc.sh build) ready: $(ms_since "$t") ms"

# kubectl (with its built-in kustomize) renders the manifests in the tests. The machine image carries
# it; Debian's own kubernetes-client (1.20) has a kustomize too old for components, so it is no fallback.
command -v kubectl >/dev/null || log "WARNING: kubectl is missing: the manifest render tests will fail"
log "done in $(ms_since "$t_start") ms"
