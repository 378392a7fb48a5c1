#!/usr/bin/env bash
# Builds or fetches the Java servers used by the integration tests, once, into a cache
# (default ~/.cache/isekai, override with ISEKAI_CACHE_DIR), and prints the path to use:
#   prepare-java.sh mongo-wire  -> prints the shaded jar of scripts/servers/mongo-wire
#                                  (rebuilt only when its pom.xml or sources change)
#   prepare-java.sh zipkin      -> prints the extracted Zipkin server jar; an AppCDS archive
#                                  app.jsa beside it halves its start time
#   prepare-java.sh all         -> both (used by scripts/install-deps.sh)
# Needs java 17+ and mvn (Maven Central reachable the first time). Safe to run concurrently (flock).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ISEKAI_CACHE_DIR:-$HOME/.cache/isekai}
ZIPKIN_VERSION=${ZIPKIN_VERSION:-3.6.1}
mkdir -p "$CACHE"

log() { echo "[prepare-java] $*" >&2; }

mongo_wire() {
  local src="$HERE/mongo-wire" dir="$CACHE/mongo-wire" hash jar
  hash=$(cd "$src" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  jar="$dir/mongo-wire-$hash.jar"
  if [ ! -f "$jar" ]; then
    mkdir -p "$dir"
    exec 8>"$dir/.lock"
    flock 8
    if [ ! -f "$jar" ]; then
      log "building mongo-wire ($hash) with Maven"
      local t0=$SECONDS build="$dir/build-$hash"
      mvn -B -q -f "$src/pom.xml" -DmongoWire.buildDir="$build" package >"$dir/build.log" 2>&1 ||
        { cat "$dir/build.log" >&2; exit 1; }
      mv "$build/mongo-wire.jar" "$jar.part" && mv "$jar.part" "$jar"
      rm -rf "$build"
      find "$dir" -maxdepth 1 -name 'mongo-wire-*.jar' ! -name "${jar##*/}" -delete
      log "built $jar in $((SECONDS - t0)) s"
    fi
    exec 8>&-
  fi
  echo "$jar"
}

zipkin() {
  local dir="$CACHE/zipkin" exec_jar x
  exec_jar="$dir/zipkin-server-$ZIPKIN_VERSION-exec.jar"
  x="$dir/zipkin-server-$ZIPKIN_VERSION"
  if [ ! -f "$x/app.jsa" ]; then
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -f "$exec_jar" ]; then
      log "fetching io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec"
      mvn -B -q dependency:copy -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
        -DoutputDirectory="$dir" >"$dir/fetch.log" 2>&1 || { cat "$dir/fetch.log" >&2; exit 1; }
    fi
    if [ ! -f "$x/zipkin-server-$ZIPKIN_VERSION-exec.jar" ]; then
      log "extracting $exec_jar"
      rm -rf "$x.part"
      java -Djarmode=tools -jar "$exec_jar" extract --destination "$x.part" >&2
      rm -rf "$x" && mv "$x.part" "$x"
    fi
    if [ ! -f "$x/app.jsa" ]; then
      # Training run: start the application context once and dump the loaded classes (JDK 13+).
      # The archive has to match the JVM and the class path (same absolute jar path as at run time),
      # not the other options; a mismatch only costs the speed-up.
      log "creating the AppCDS archive for Zipkin"
      (cd "$x" && env -i PATH="$PATH" HOME="$HOME" STORAGE_TYPE=mem \
        java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ArchiveClassesAtExit=app.jsa.part \
        -Xlog:cds=off -Xlog:cds+dynamic=off -Dspring.context.exit=onRefresh \
        -jar "$x/zipkin-server-$ZIPKIN_VERSION-exec.jar" --spring.main.banner-mode=off \
        --armeria.ports[0].ip=127.0.0.1 --armeria.ports[0].port=0 '--armeria.ports[0].protocols[0]=http' \
        >"$dir/cds-training.log" 2>&1) || log "CDS training run failed (Zipkin still works, slower): see $dir/cds-training.log"
      [ -f "$x/app.jsa.part" ] && mv "$x/app.jsa.part" "$x/app.jsa"
    fi
    exec 9>&-
  fi
  echo "$x/zipkin-server-$ZIPKIN_VERSION-exec.jar"
}

case "${1:-all}" in
  mongo-wire) mongo_wire ;;
  zipkin) zipkin ;;
  all) mongo_wire && zipkin ;;
  *) echo "usage: $0 mongo-wire|zipkin|all" >&2; exit 2 ;;
esac
