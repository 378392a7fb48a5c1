#!/usr/bin/env bash
# Build every image for real, without running a container (this machine cannot), as OCI layouts:
#   1. a Debian root filesystem from Debian's archive (mmdebstrap, variant essential + libstdc++6, merged /usr,
#      no docs/man/locales), cached by its inputs in $ISEKAI_CACHE/images; committed as image
#      localhost/isekai/base with buildah (vfs storage) and checked against the digest pinned in
#      images.lock.json;
#   2. localhost/isekai/node FROM the base by digest + Node from the npm `node` package (Containerfile.node);
#   3. one thin layer per function (Containerfile), the migration Job (Containerfile.migrate), the backup
#      Jobs (Containerfile.backup) and the site (Containerfile.site), each FROM the node image by digest, with only COPY/ENV/USER/ENTRYPOINT steps,
#      from dist/ (`node scripts/build.ts <name>…` runs here first unless --no-bundle);
#   3b. the servers (functions, site) get a last layer holding a V8 compile cache (Containerfile.compile-cache,
#      COPY only): made here by starting the image's entrypoint once from the image's own root filesystem
#      (buildah mount) under `chroot --userspec=1000:1000` with the image's environment, so the node binary,
#      the file paths and the V8 flags are those the pod runs with (the cache is keyed by all three); the
#      process stops at its configuration check (or is stopped) and Node writes the cache on exit; a function's
#      start file writes its bundle's own code cache beside it then (scripts/code-cache.ts: every function
#      compiled by that exit, not only what V8 compiled eagerly);
#   4. `buildah push … oci:$IMAGES_OUT:<name>`: one OCI layout (shared blobs), one tag per image. An image
#      whose inputs (node image digest, recipe, dist/<name> files, tag) match the label
#      dev.isekai.inputs of the tag already in the layout is not rebuilt (a push recompresses every layer).
# Prints one line per image: name, manifest digest, compressed size of its layers, size of its own layers
# (those above the node runtime: the bundle, and the compile cache of the servers).
#
#   scripts/images.sh                    # everything: ghcr.io/isekai/<name>:<tag>, layout $ISEKAI_CACHE/images/oci
#   scripts/images.sh catalog site       # some
#   scripts/images.sh --update-lock      # accept a new base digest (Debian published a point release)
#   scripts/images.sh --no-bundle …      # reuse dist/ as it is
#   scripts/images.sh --no-compile-cache # no compile-cache layer: digests equal from build to build (the
#                                        # cache's bytes depend on V8's per-process random hash seed)
# Needs root (buildah's vfs storage keeps file owners), buildah, mmdebstrap, umoci (scripts/install-deps.sh).
# Environment: ISEKAI_CACHE (~/.cache/isekai), IMAGES_OUT (the OCI layout), IMAGE_TAG (package.json version),
# DEBIAN_MIRROR (http://deb.debian.org/debian).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ISEKAI_CACHE:-$HOME/.cache/isekai}/images
out=${IMAGES_OUT:-${ISEKAI_CACHE:-$HOME/.cache/isekai}/images/oci}
lock=$root/images.lock.json
node_bin=$root/node_modules/node/bin/node
export PATH=$root/node_modules/.bin:$PATH

update_lock=false
bundle=true
compile_cache=true
names=()
for arg in "$@"; do
  case $arg in
    --update-lock) update_lock=true ;;
    --no-bundle) bundle=false ;;
    --no-compile-cache) compile_cache=false ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "images.sh: unknown option $arg" >&2; exit 64 ;;
    *) names+=("$arg") ;;
  esac
done

for tool in buildah mmdebstrap jq strip; do
  command -v "$tool" >/dev/null || { echo "images.sh: $tool is missing (scripts/install-deps.sh test)" >&2; exit 69; }
done
[ "$(id -u)" = 0 ] || { echo "images.sh: run as root (buildah vfs storage keeps file owners)" >&2; exit 77; }

tag=${IMAGE_TAG:-$(jq -r .version "$root/package.json")}
if [ ${#names[@]} -eq 0 ]; then
  mapfile -t names < <(cd "$root/functions" && for d in */; do [ -f "$d/index.ts" ] && echo "${d%/}"; done)
  names+=(schema-migrate backup site)
fi

# --- 1. the Debian base -----------------------------------------------------------------------------------
suite=$(jq -r .debian.suite "$lock")
variant=$(jq -r .debian.variant "$lock")
include=$(jq -r '.debian.include | join(",")' "$lock")
epoch=$(jq -r .debian.sourceDateEpoch "$lock")
mirror=${DEBIAN_MIRROR:-$(jq -r .debian.mirror "$lock")}
mm_args=(--variant="$variant" --include="$include" --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright')
key=$(printf '%s\n' "$suite" "$mirror" "$epoch" "${mm_args[@]}" | sha256sum | cut -c1-16)
mkdir -p "$cache"
# One build at a time per cache (buildah storage and the layout's index.json are shared).
exec 9>"$cache/.lock"
flock 9
rootfs=$cache/debian-$suite-$key.tar
if [ ! -s "$rootfs" ]; then
  echo "images: mmdebstrap $suite ($variant + $include) from $mirror" >&2
  if ! SOURCE_DATE_EPOCH=$epoch mmdebstrap --format=tar "${mm_args[@]}" "$suite" "$rootfs.part" "$mirror" \
    >"$cache/mmdebstrap.log" 2>&1; then
    tail -n 30 "$cache/mmdebstrap.log" >&2
    exit 1
  fi
  mv "$rootfs.part" "$rootfs"
fi

B=(buildah --storage-driver vfs --root "$cache/storage" --runroot "$cache/run")
image_digest() { "${B[@]}" inspect --type image --format '{{.FromImageDigest}}' "$1"; }

base=localhost/isekai/base:$suite-$key
if ! "${B[@]}" inspect --type image "$base" >/dev/null 2>&1; then
  "${B[@]}" rm "isekai-base-$key" >/dev/null 2>&1 || true
  ctr=$("${B[@]}" from --name "isekai-base-$key" scratch)
  "${B[@]}" add "$ctr" "$rootfs" / >/dev/null
  "${B[@]}" config --env PATH=/usr/local/bin:/usr/bin:/bin --created-by "mmdebstrap ${mm_args[*]} $suite" \
    --label org.opencontainers.image.source=https://deb.debian.org "$ctr"
  "${B[@]}" commit --quiet --timestamp "$epoch" "$ctr" "$base" >/dev/null
  "${B[@]}" rm "$ctr" >/dev/null
fi
base_digest=$(image_digest "$base")
pinned=$(jq -r .baseDigest "$lock")
if [ "$base_digest" != "$pinned" ]; then
  if $update_lock; then
    packages=$(tar -xOf "$rootfs" ./var/lib/dpkg/status | awk '/^Package:/{p=$2} /^Version:/{print p"="$2}' | jq -R . | jq -s .)
    jq --arg d "$base_digest" --argjson p "$packages" '.baseDigest = $d | .packages = $p' "$lock" >"$lock.part"
    mv "$lock.part" "$lock"
    echo "images: pinned base $base_digest in images.lock.json" >&2
  else
    echo "images: the base built from $mirror is $base_digest, images.lock.json pins $pinned." >&2
    echo "        Debian changed the packages (a point release) or the inputs changed: review, then --update-lock." >&2
    exit 1
  fi
fi

# --- 2. the node runtime --------------------------------------------------------------------------------------
node_version=$("$node_bin" --version)
ctx=$cache/node-$node_version
if [ ! -x "$ctx/node" ]; then
  mkdir -p "$ctx"
  strip -o "$ctx/node.part" "$node_bin"
  mv "$ctx/node.part" "$ctx/node"
fi
recipe=$(sha256sum "$root/Containerfile.node" | cut -c1-12)
node_image=localhost/isekai/node:${node_version#v}-$key-$recipe
if ! "${B[@]}" inspect --type image "$node_image" >/dev/null 2>&1; then
  "${B[@]}" bud --quiet --timestamp "$epoch" --layers=false -f "$root/Containerfile.node" \
    --build-arg "BASE=localhost/isekai/base@$base_digest" -t "$node_image" "$ctx" >/dev/null
fi
node_digest=$(image_digest "$node_image")

# --- 3. the functions, the migration Job, the site -------------------------------------------------------------
if $bundle; then
  fns=()
  for name in "${names[@]}"; do
    case $name in site | schema-migrate | backup) ;; *) fns+=("$name") ;; esac
  done
  [ ${#fns[@]} -eq 0 ] || node "$root/scripts/build.ts" "${fns[@]}" >/dev/null
  for name in schema-migrate backup site; do
    if printf '%s\n' "${names[@]}" | grep -qx "$name"; then node "$root/scripts/build.ts" "$name" >/dev/null; fi
  done
  # Reproducibility, as for the base: the site is built a second time and must come out byte-identical
  # (Astro made a random manifest key per build until scripts/build.ts fixed it; see siteKey there).
  if printf '%s\n' "${names[@]}" | grep -qx site; then
    rm -rf "$cache/site-first" && cp -a "$root/dist/site" "$cache/site-first"
    node "$root/scripts/build.ts" site >/dev/null
    if ! diff -rq "$cache/site-first" "$root/dist/site" >&2; then
      echo "images: two builds of the site differ (above): the site's build is not reproducible" >&2
      exit 1
    fi
    rm -rf "$cache/site-first"
  fi
fi

# The blob path of the manifest tagged $1 in the layout (empty when there is none).
manifest_of() {
  [ -f "$out/index.json" ] || return 0
  jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' \
    "$out/index.json" | tail -n 1 | sed 's|:|/|'
}
report() {
  local m
  m=$out/blobs/$(manifest_of "$1")
  printf '%-20s %-73s %8sM %8sK %s\n' "$1" "sha256:${m##*/}" "$(($(jq '[.layers[].size] | add' "$m") / 1048576))" \
    "$(($(jq '[.layers[2:][].size] | add' "$m") / 1024))" "$2"
}
# Start the image's entrypoint once from its own root filesystem, as uid 1000 with the image's environment,
# with NODE_COMPILE_CACHE pointing at a scratch directory there, and add what Node wrote as the image's last
# layer (Containerfile.compile-cache). Without settings the process stops at its configuration check (exit
# 78); one that starts anyway (the site) is stopped after 20 s (SIGTERM, made an exit: the cache is written).
# Node's cache holds the code V8 compiled when it compiled the module, so that early stop loses nothing; a
# function's start file adds $NODE_COMPILE_CACHE/isekai/<key>, its bundle's code cache made at that exit,
# with every function the start called up to the configuration check (scripts/code-cache.ts).
add_compile_cache() {
  local name=$1 ref=$2 ctr mnt ctx entry
  ctx=$cache/compile-cache/$name
  rm -rf "$ctx" && mkdir -p "$ctx/compile-cache"
  ctr=$("${B[@]}" from --pull=never "$ref")
  mnt=$("${B[@]}" mount "$ctr")
  install -d -o 1000 -g 1000 "$mnt/tmp/isekai-compile-cache"
  # A server that starts without settings (the site) is stopped by `timeout`; Node writes its cache only
  # when it exits, not when a signal kills it, so SIGTERM is made an exit (a Node option: not a V8 flag,
  # which would change the cache's key).
  echo "process.once('SIGTERM', () => process.exit(0));" >"$mnt/tmp/isekai-exit-on-term.cjs"
  mapfile -t entry < <("${B[@]}" inspect --type image --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$ref" | sed '/^$/d')
  mapfile -t image_env < <("${B[@]}" inspect --type image --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$ref" | sed '/^$/d')
  env -i "${image_env[@]}" NODE_COMPILE_CACHE=/tmp/isekai-compile-cache PORT=0 HOST=127.0.0.1 LOG_LEVEL=fatal \
    NODE_OPTIONS=--require=/tmp/isekai-exit-on-term.cjs \
    timeout 20 /usr/sbin/chroot --userspec=1000:1000 "$mnt" "${entry[@]}" >/dev/null 2>&1 || true
  cp -R "$mnt/tmp/isekai-compile-cache/." "$ctx/compile-cache/"
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" rm "$ctr" >/dev/null
  if [ -z "$(find "$ctx/compile-cache" -type f)" ]; then
    echo "images: $name: starting ${entry[*]} wrote no compile cache" >&2
    exit 1
  fi
  # Node writes its cache files 0600 for the user that made them; the image's files are root's, readable by all.
  chmod -R u=rwX,go=rX "$ctx/compile-cache"
  local without
  without=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$ref")
  "${B[@]}" bud --quiet --timestamp "$epoch" --layers=false --pull=never -f "$root/Containerfile.compile-cache" \
    --build-arg "IMAGE=$ref" -t "$ref" "$ctx" >/dev/null
  # The image without the cache, now untagged: vfs keeps a full root filesystem per image.
  "${B[@]}" rmi "$without" >/dev/null 2>&1 || true
}

mkdir -p "$(dirname "$out")"
# Source maps stay out of the images (they double a bundle's size; stack traces name the minified file).
printf '**/*.map\n' >"$root/dist/.containerignore"
printf '%-20s %-73s %9s %9s\n' image digest size own-layers
for name in "${names[@]}"; do
  case $name in
    site) file=Containerfile.site ;;
    schema-migrate) file=Containerfile.migrate ;;
    backup) file=Containerfile.backup ;;
    *) file=Containerfile ;;
  esac
  [ -d "$root/dist/$name" ] || { echo "images: dist/$name is missing (npm run build)" >&2; exit 1; }
  ref=ghcr.io/isekai/$name:$tag
  inputs=$( (echo "$node_digest $tag $compile_cache"; cat "$root/$file" "$root/Containerfile.compile-cache"; cd "$root/dist/$name" && find . -type f ! -name '*.map' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-64)
  if [ "$(manifest_of "$name" | xargs -r -I{} jq -r '.config.digest' "$out/blobs/{}" 2>/dev/null | sed 's|:|/|' | xargs -r -I{} jq -r '.config.Labels["dev.isekai.inputs"] // empty' "$out/blobs/{}")" = "$inputs" ]; then
    report "$name" "(cached)"
    continue
  fi
  "${B[@]}" bud --quiet --timestamp "$epoch" --layers=false -f "$root/$file" \
    --build-arg "NODE_IMAGE=localhost/isekai/node@$node_digest" --build-arg "FUNCTION=$name" \
    --label "org.opencontainers.image.version=$tag" --label "dev.isekai.base.digest=$base_digest" \
    --label "dev.isekai.inputs=$inputs" \
    -t "$ref" "$root/dist" >/dev/null
  if $compile_cache; then
    case $name in schema-migrate | backup) ;; *) add_compile_cache "$name" "$ref" ;; esac
  fi
  "${B[@]}" push --quiet --format oci "$ref" "oci:$out:$name" >/dev/null
  # The layout is the product; vfs keeps a full copy of the root filesystem per image, so drop it here.
  "${B[@]}" rmi "$ref" >/dev/null
  report "$name" ""
done
"${B[@]}" rmi --prune >/dev/null 2>&1 || true
echo "base $base_digest (Debian $suite, $(tar -tf "$rootfs" | wc -l) files); node $node_version $node_digest" >&2
