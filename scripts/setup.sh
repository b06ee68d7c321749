#!/usr/bin/env bash
# Host setup for Agora on Debian, as root. Idempotent: installs only what is missing,
# starts the Docker engine only when its socket does not answer, then installs npm deps.
set -euo pipefail

APT_PACKAGES=(docker.io mmdebstrap nats-server busybox-static)
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_LOG=${AGORA_DOCKERD_LOG:-/var/log/agora-dockerd.log}
DOCKER_WAIT_SEC=60

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

manual_help() {
  cat >&2 <<HELP
setup: this script sets up a Debian host as root. Install these by hand instead:
  - Docker engine (Debian package docker.io), running, with its socket at $DOCKER_SOCK
  - mmdebstrap, nats-server, busybox-static (Debian packages of the same names)
  - Node.js >= 20 and npm, then run: npm ci
HELP
}

if [[ $(id -u) -ne 0 ]]; then
  say "not running as root"
  manual_help
  exit 1
fi
if [[ ! -r /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
  say "not a Debian system (no /etc/debian_version or apt-get)"
  manual_help
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    say "skip: $pkg already installed"
  else
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

docker_answers() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 3 --unix-socket "$DOCKER_SOCK" http://localhost/_ping >/dev/null 2>&1
  else
    timeout 5 docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1
  fi
}

if docker_answers; then
  say "skip: Docker engine already answers on $DOCKER_SOCK"
else
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for ((i = 0; i < DOCKER_WAIT_SEC; i++)); do
    docker_answers && break
    sleep 1
  done
  docker_answers || die "dockerd did not answer on $DOCKER_SOCK within ${DOCKER_WAIT_SEC}s; see $DOCKERD_LOG"
  say "Docker engine is up"
fi

if [[ ${AGORA_SKIP_NPM:-0} == 1 ]]; then
  say "skip: npm ci (AGORA_SKIP_NPM=1)"
else
  cd "$(dirname "$0")/.."
  say "npm ci"
  npm ci --no-audit --no-fund
fi
say "done"
