#!/usr/bin/env bash
# Prepare the machine for the executor tests: docker engine, bubblewrap, ripgrep, tmux, and a
# locally built base image `kwaak-test-base` (Docker Hub is not reachable, so nothing is pulled).
#
# Idempotent: every step is skipped when already done. Meant to run as root on Debian 12.
# Always exits 0: when docker truly cannot start it prints a loud warning, and the docker tests
# then skip with their own loud reason.
set -uo pipefail

IMAGE="${KWAAK_TEST_IMAGE:-kwaak-test-base}"
SOCKET="/var/run/docker.sock"
LOG_DIR="${KWAAK_CI_LOG_DIR:-/tmp}"

log() { printf '[setup-docker] %s\n' "$*"; }

warn() {
  printf '\n' >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! [setup-docker] WARNING: %s\n' "$*" >&2
  printf '!!! docker tests will be SKIPPED on this machine.\n' >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages already installed"
    return 0
  fi
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$LOG_DIR/kwaak-apt.log" 2>&1 || log "apt-get install failed (see $LOG_DIR/kwaak-apt.log)"
}

docker_up() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

dockerd_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = "dockerd" ] && return 0
  done
  return 1
}

wait_for_docker() {
  for _ in $(seq 1 "$1"); do
    if [ -S "$SOCKET" ] && docker_up; then
      return 0
    fi
    sleep 1
  done
  return 1
}

launch_dockerd() {
  log "starting dockerd $* (log: $LOG_DIR/kwaak-dockerd.log)"
  rm -f /var/run/docker.pid
  # setsid: its own session, so killing the caller's process group never takes dockerd down.
  as_root sh -c "setsid nohup dockerd $* >>'$LOG_DIR/kwaak-dockerd.log' 2>&1 < /dev/null &" || return 1
  wait_for_docker 60
}

start_dockerd() {
  if docker_up; then
    log "docker daemon already running"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    return 1
  fi
  if dockerd_running; then
    log "dockerd is running but not answering yet; waiting"
    wait_for_docker 60 && return 0
    return 1
  fi
  launch_dockerd && { log "docker daemon is up"; return 0; }
  # Nested or restricted machines: retry without iptables and with the portable storage driver.
  if ! dockerd_running; then
    launch_dockerd --iptables=false --storage-driver=vfs && { log "docker daemon is up (vfs)"; return 0; }
  fi
  return 1
}

build_base_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE already present"
    return 0
  fi
  local root
  root="$(mktemp -d /tmp/kwaak-rootfs.XXXXXX)"
  log "building $IMAGE with debootstrap (about a minute)"
  if ! as_root debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" \
      >"$LOG_DIR/kwaak-debootstrap.log" 2>&1; then
    as_root rm -rf "$root"
    return 1
  fi
  as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  if ! as_root tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null; then
    as_root rm -rf "$root"
    return 1
  fi
  as_root rm -rf "$root"
  log "image $IMAGE built"
}

main() {
  install_packages
  if ! start_dockerd; then
    warn "the docker daemon could not be started (see $LOG_DIR/kwaak-dockerd.log)"
    return 0
  fi
  if ! build_base_image; then
    warn "could not build the $IMAGE image (see $LOG_DIR/kwaak-debootstrap.log)"
    return 0
  fi
  command -v bwrap >/dev/null 2>&1 || warn "bubblewrap is missing: sandbox tests will be skipped"
  return 0
}

main "$@"
exit 0
