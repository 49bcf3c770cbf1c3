#!/usr/bin/env bash
# Build the local image ployz/busybox:local from Debian's busybox-static.
# No registry is reachable, so the image is imported from a hand-made rootfs.
# Idempotent: does nothing when the image exists (pass --force to rebuild).
# Prints "built" on stdout when it built the image, nothing otherwise.
set -euo pipefail

IMAGE="${PLOYZ_BUSYBOX_IMAGE:-ployz/busybox:local}"
BUSYBOX="${PLOYZ_BUSYBOX_BIN:-/bin/busybox}"
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

die() { echo "build-busybox-image: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found (apt-get install docker.io, or run scripts/setup.sh)"
timeout 5 docker info >/dev/null 2>&1 || die "docker daemon not reachable (run scripts/setup.sh)"

if [[ $force -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

# Serialise concurrent builders (e.g. parallel test workers).
lock="${TMPDIR:-/tmp}/ployz-busybox-image.$(id -u).lock"
exec 8>"$lock"
flock -w 120 8 || die "timed out waiting for $lock"
if [[ $force -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0  # another process built it while we waited
fi

[[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found (apt-get install --no-install-recommends busybox-static)"
if ! applets=$("$BUSYBOX" --list 2>/dev/null) || [[ -z "$applets" ]]; then
  die "$BUSYBOX --list failed"
fi

old_id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ployz-busybox.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev,var/www,home,usr}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
# Merged-/usr style: everything lives in /bin.
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

cp "$BUSYBOX" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
while IFS= read -r applet; do
  [[ -n "$applet" && "$applet" != busybox && "$applet" != */* ]] || continue
  ln -s busybox "$root/bin/$applet"
done <<<"$applets"

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP

if ! out=$(tar -C "$root" --numeric-owner --owner=0 --group=0 -c . \
    | docker import \
        -c 'CMD ["/bin/sh"]' \
        -c 'ENV PATH=/bin' \
        -m "ployz: busybox from $BUSYBOX" \
        - "$IMAGE" 2>&1); then
  die "docker import failed: $out"
fi

if ! out=$(docker run --rm "$IMAGE" /bin/busybox echo ok 2>&1) || [[ "$out" != ok ]]; then
  docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
  die "image $IMAGE does not run (removed it again): $out"
fi
# A forced rebuild leaves the previous image untagged: drop it if nothing uses it.
if [[ -n "$old_id" && "$old_id" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
echo built
