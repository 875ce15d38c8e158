#!/usr/bin/env bash
# Install the Debian packages listed in scripts/host-packages.txt that are not installed yet.
# Uses the machine's own apt configuration (its mirror); prints what it does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/host-packages.txt" | grep -v '^$' || true)
[ "${#wanted[@]}" -gt 0 ] || exit 0
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -gt 0 ] || { echo "host packages: all ${#wanted[@]} present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "host packages missing (need root to install): ${missing[*]}" >&2
  exit 0
fi
echo "host packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Some of these are daemons installed only for their checkers (nginx -t, sshd -t, chronyd -p,
# vtysh --dryrun): none may start on the machine that runs the tests. policy-rc.d answering
# 101 stops Debian's maintainer scripts from starting them; ours is removed afterwards, one the
# machine already had is left as it was.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# idcpilot install-host-deps: no service starts while test tools install\nexit 101\n' > "$guard"
  chmod 0755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
