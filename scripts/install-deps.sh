#!/usr/bin/env bash
# Installs what `npm start` or `npm test` needs on a fresh Debian 12 machine (as root, or through sudo),
# then builds or fetches the Java servers into ~/.cache/isekai. Idempotent: with everything present it
# only checks (well under 5 s) and runs no apt-get at all. Called by scripts/bootstrap.sh.
#   install-deps.sh start  nginx + njs (the edge), openssl, a JDK and Maven (the mongo-wire server),
#                          /etc/hosts names for *.isekai.localhost
#   install-deps.sh test   (the default) all of that, plus Ceph (mon, osd, radosgw, CLI) for S3, wrk for
#                          the benchmarks, shellcheck, promtool, Debian's chromium for the site's browser tests
#                          (driven by playwright-core; never a browser download) with fonts-noto-cjk (Japanese
#                          titles in its screenshots), mmdebstrap, buildah, umoci and binutils (build and unpack
#                          the images), the Zipkin server and Keycloak
set -euo pipefail
PROFILE=${1:-test}
case "$PROFILE" in start | test) ;; *) echo "usage: install-deps.sh [start|test]" >&2; exit 64 ;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t_start=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
log() { echo "[install-deps] $*"; }

PACKAGES=(nginx libnginx-mod-http-js curl openssl)
# prometheus: for promtool (checks and unit-tests k3s/observability; Debian ships it only in this package).
[ "$PROFILE" = test ] && PACKAGES+=(ceph-mon ceph-osd radosgw ceph-common wrk shellcheck chromium fonts-noto-cjk prometheus)
# The images (scripts/images.sh, test/integration/images.test.ts): Debian root filesystem, buildah with vfs
# storage, umoci to unpack them, strip (binutils) for the Node binary; pg_dump/pg_restore come with postgresql.
[ "$PROFILE" = test ] && PACKAGES+=(mmdebstrap buildah umoci binutils)
command -v java >/dev/null || PACKAGES+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || PACKAGES+=(maven)

# Root runs apt-get itself; anyone else through sudo (the caches stay in the caller's home).
SUDO=()
if [ "$(id -u)" -ne 0 ]; then command -v sudo >/dev/null && SUDO=(sudo); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -eq 0 ]; then
  log "apt: all ${#PACKAGES[@]} packages present"
else
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    log "missing ${missing[*]}: install them as root (apt-get install ${missing[*]}), or install sudo"
    exit 1
  fi
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Without systemd, package scripts would start nginx (port 80) and radosgw through their init
  # scripts; a policy-rc.d that answers 101 stops that. Only ours is removed afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null && "${SUDO[@]}" chmod +x "$policy" && own_policy=1
  fi
  trap 'if [ "$own_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi' EXIT
  t=$(date +%s%N)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  log "apt-get update: $(ms_since "$t") ms"
  t=$(date +%s%N)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "apt-get install (${#missing[@]} packages): $(ms_since "$t") ms"
fi

# *.isekai.localhost: browsers and curl resolve localhost subdomains themselves (RFC 6761); glibc, and so
# Node's fetch, do not. Pin the edge's names to loopback, once, in a marked block.
HOSTS_NAMES="isekai.localhost api.isekai.localhost events.isekai.localhost"
if grep -q '# isekai dev edge' /etc/hosts 2>/dev/null; then
  log "/etc/hosts: isekai names present"
elif [ -w /etc/hosts ] || [ ${#SUDO[@]} -gt 0 ]; then
  printf '127.0.0.1 %s # isekai dev edge\n::1 %s # isekai dev edge\n' "$HOSTS_NAMES" "$HOSTS_NAMES" |
    "${SUDO[@]}" tee -a /etc/hosts >/dev/null
  log "/etc/hosts: added $HOSTS_NAMES → 127.0.0.1, ::1"
else
  log "/etc/hosts not writable: Node clients need curl-style --resolve (see README)"
fi

t=$(date +%s%N)
if [ "$PROFILE" = test ]; then
  "$REPO/scripts/servers/prepare-java.sh" all >/dev/null
  log "java servers (mongo-wire jar, zipkin + CDS archive) ready: $(ms_since "$t") ms"
  t=$(date +%s%N)
  "$REPO/scripts/servers/keycloak-prefetch.sh" >/dev/null
  log "keycloak distribution (download, unpack, kc.sh build) ready: $(ms_since "$t") ms"
else
  "$REPO/scripts/servers/prepare-java.sh" mongo-wire >/dev/null
  log "mongo-wire jar ready: $(ms_since "$t") ms"
fi

# kubectl (with its built-in kustomize) renders the manifests in the tests. The machine image carries
# it; Debian's own kubernetes-client (1.20) has a kustomize too old for components, so it is no fallback.
[ "$PROFILE" = start ] || command -v kubectl >/dev/null || log "WARNING: kubectl is missing: the manifest render tests will fail"
log "done in $(ms_since "$t_start") ms"
