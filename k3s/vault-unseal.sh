#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Initialises Vault once (5 unseal key shares, threshold 3) and unseals it. Vault seals itself on every
# restart of its pod: run this again then (runbook), or configure auto-unseal (README "Auto-unseal").
#   kubectl -n vault port-forward pod/vault-0 18200:8200 &
#   VAULT_ADDR=http://127.0.0.1:18200 VAULT_INIT_FILE=~/.isekai/vault-init.json ./vault-unseal.sh
# On the first run the unseal keys and the root token are written to VAULT_INIT_FILE (mode 600): move
# the keys to their custodians (offline) and revoke the root token once the install is done.
# Keys are passed to Vault on stdin, never on a command line.
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh
need vault jq
: "${VAULT_ADDR:?set VAULT_ADDR}"
INIT_FILE=${VAULT_INIT_FILE:?set VAULT_INIT_FILE (where the unseal keys are, or will be written)}

# vault status: exit 0 unsealed, 2 sealed or uninitialised, anything else an error (which stops us).
status() {
  local rc=0 out
  out=$(vault status -format=json) || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then die "vault status failed (exit ${rc}) at ${VAULT_ADDR}"; fi
  printf '%s' "$out"
}

# Assigned first: a failed command substitution inside a test would not stop the script.
st=$(status)
if [ "$(jq -r .initialized <<<"$st")" != true ]; then
  [ ! -e "$INIT_FILE" ] || die "Vault is not initialised but ${INIT_FILE} exists: refusing to overwrite keys"
  mkdir -p "$(dirname "$INIT_FILE")"
  (
    umask 077
    vault operator init -format=json -key-shares=5 -key-threshold=3 >"${INIT_FILE}.tmp"
  )
  mv "${INIT_FILE}.tmp" "$INIT_FILE"
  log "Vault initialised: unseal keys and root token in ${INIT_FILE}. Move the keys offline, to 5 custodians."
  st=$(status)
fi

if [ "$(jq -r .sealed <<<"$st")" = true ]; then
  [ -r "$INIT_FILE" ] || die "Vault is sealed and ${INIT_FILE} is not readable: unseal with 3 keys (vault operator unseal)"
  threshold=$(jq -er .t <<<"$st")
  for i in $(seq 0 $((threshold - 1))); do
    jq -er ".unseal_keys_b64[${i}]" "$INIT_FILE" | vault write -format=json sys/unseal key=- >/dev/null
  done
  st=$(status)
  [ "$(jq -r .sealed <<<"$st")" = false ] || die "Vault is still sealed after ${threshold} keys from ${INIT_FILE}"
fi
log "Vault is initialised and unsealed"
