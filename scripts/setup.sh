#!/usr/bin/env bash
# Make this machine ready to build, test and run Ployz.
# Idempotent: a second run only checks what is there (well under 2 s).
# Prints progress to stderr only when it has work to do, and one summary line at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

MIN_NODE="20.19.0"
APT_PACKAGES=(nats-server docker.io wireguard-go wireguard-tools zfs-fuse caddy pebble
  openssl busybox-static iproute2 iptables iputils-ping dnsutils tmux wrk)
IMAGE="ployz/busybox:local"
DOCKERD_LOG=/var/log/ployz-dockerd.log
ZFS_LOG=/var/log/ployz-zfs-fuse.log
STAMP="node_modules/.ployz-lock-hash"

die()  { echo "setup: error: $*" >&2; exit 1; }
warn() { echo "setup: warning: $*" >&2; }
note() { echo "setup: $*" >&2; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command with its output captured; show the output only if it fails.
run_quiet() {
  local what=$1; shift
  local log; log=$(mktemp "${TMPDIR:-/tmp}/ployz-setup.XXXXXX")
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    rm -f "$log"
    die "$what failed: $*"
  fi
  rm -f "$log"
}

# One setup at a time (start.sh and test.sh may run side by side).
# fd 9 holds the lock; daemons we start get 9>&- so they do not keep it.
exec 9>"${TMPDIR:-/tmp}/ployz-setup.$(id -u).lock"
flock -w 600 9 || die "another setup.sh is still running (lock held for 10 min)"

# --- Node ---------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found; Ployz needs Node >= $MIN_NODE"
node_version=$(node -p 'process.versions.node')
if ! node -e '
  const [a, b] = [process.argv[1], process.argv[2]].map(v => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) { if (a[i] !== b[i]) process.exit(a[i] > b[i] ? 0 : 1); }
' "$node_version" "$MIN_NODE"; then
  die "Node $node_version is too old; Ployz needs Node >= $MIN_NODE"
fi

# --- npm packages -------------------------------------------------------
[[ -f package-lock.json ]] || die "package-lock.json missing in $REPO (run npm install once and commit it)"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules ]] || [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$lock_hash" ]]; then
  note "installing npm packages (npm ci)"
  run_quiet "npm ci" npm ci --no-audit --no-fund
  printf '%s\n' "$lock_hash" >"$STAMP"
fi

# --- Debian packages ----------------------------------------------------
declare -A status=()
while IFS=' ' read -r pkg rest; do
  [[ -n "$pkg" ]] && status[$pkg]=$rest
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [[ "${status[$pkg]:-}" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if ! is_root; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  note "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run_quiet "apt-get update" apt-get update -q
  run_quiet "apt-get install" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- dockerd ------------------------------------------------------------
docker_ok() { timeout 5 docker info >/dev/null 2>&1; }
if ! docker_ok; then
  if ! is_root; then
    die "the Docker daemon is not reachable. Start it (sudo systemctl start docker, or
  sudo sh -c 'setsid nohup dockerd >$DOCKERD_LOG 2>&1 &') and make sure your user may use it
  (sudo usermod -aG docker $(id -un), then log in again); then re-run $0"
  fi
  if pgrep -x dockerd >/dev/null; then
    note "dockerd is running but not answering yet; waiting"
  else
    note "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  fi
  for _ in $(seq 60); do
    docker_ok && break
    sleep 0.5
  done
  docker_ok || die "dockerd did not come up within 30 s; see $DOCKERD_LOG"
fi
docker_state="dockerd up"

# --- zfs-fuse (not fatal: volumes come later) ----------------------------
zfs_state="zfs-fuse up"
if ! pgrep -x zfs-fuse >/dev/null; then
  if ! is_root; then
    warn "zfs-fuse is not running; start it with: sudo mkdir -p /var/run/zfs && sudo zfs-fuse --pidfile /var/run/zfs-fuse.pid"
    zfs_state="zfs-fuse DOWN"
  else
    note "starting zfs-fuse (log: $ZFS_LOG)"
    mkdir -p /var/run/zfs
    # zfs-fuse daemonizes itself once it is set up.
    zfs_rc=0
    zfs-fuse --pidfile /var/run/zfs-fuse.pid >>"$ZFS_LOG" 2>&1 </dev/null 9>&- || zfs_rc=$?
    if ((zfs_rc == 0)); then
      for _ in $(seq 40); do
        timeout 5 zpool list >/dev/null 2>&1 && break
        sleep 0.25
      done
    fi
    if ! timeout 5 zpool list >/dev/null 2>&1; then
      warn "zfs-fuse did not come up (exit code $zfs_rc, zpool list fails); volumes will not work. See $ZFS_LOG and syslog"
      zfs_state="zfs-fuse DOWN"
    fi
  fi
fi

# --- bundles: what bin/ployzctl.js and bin/ployzd.js run (dist/, rebuilt by them when a source
# changes). Built here so that a failing build stops the set-up with esbuild's own error, and so
# that commands and tests started side by side do not all build at once.
run_quiet "building the bundles (node bin/bundle.js)" node bin/bundle.js 9>&-

# --- local busybox image ------------------------------------------------
bash scripts/build-busybox-image.sh 9>&- >/dev/null

nats_version=$(nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')
echo "setup: node $node_version, nats-server ${nats_version:-?}, $docker_state, $zfs_state, image $IMAGE"
