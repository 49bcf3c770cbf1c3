#!/usr/bin/env bash
# Prepare the machine, then bring up a local development Ployz cluster.
# Arguments are passed to `ployzctl dev up`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

[[ -f bin/ployzctl.js ]] || { echo "start: bin/ployzctl.js not found in $PWD" >&2; exit 1; }
node bin/ployzctl.js dev up "$@"

# The demo namespace: two busybox httpd replicas. The image goes into the cluster's image store
# first (no registry here); deploying the same spec again is a no-op, so this is idempotent.
node bin/ployzctl.js image push ployz/busybox:local
node bin/ployzctl.js deploy -f examples/demo.yaml
node bin/ployzctl.js ps -n demo
gateway=$(node bin/ployzctl.js dev status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).info?.gateway ?? ""))')

# The package's own bins are not in node_modules/.bin, so `npx ployzctl` would look in the
# registry instead. On a clean clone call the script directly (or `npm link` once).
cat <<MSG

Ployz dev cluster is up. The demo answers through the gateway:
  curl -H 'Host: demo.ployz.test' ${gateway}/
MSG
cat <<'MSG'
Look at it with:
  node bin/ployzctl.js status       # intent and status from the store, observations asked live
  node bin/ployzctl.js ps -n demo   # the demo's instances
  node bin/ployzctl.js routes       # what the gateway serves, and whether it is fresh
  node bin/ployzctl.js explain -n demo web   # why each instance is where it is
  node bin/ployzctl.js machine ls   # the machines of the cluster
  node bin/ployzctl.js dev logs -f  # the daemon's log
  node bin/ployzctl.js dev down     # stop it (state stays on disk; `npm start` brings it back)
Tip: run `npm link` once to get `ployzctl` / `ployz` on your PATH (then: ployzctl status, ployz top).
MSG
