#!/usr/bin/env bash
# remedies bootstrap: one command from a fresh Debian 12 machine (as root).
#   bash bootstrap.sh demo   install, start the lab, break it, diagnose and fix it
#   bash bootstrap.sh test   install, then the whole suite (pytest, molecule, ansible-lint)
#   bash bootstrap.sh setup  install only
set -o errexit -o nounset -o pipefail
cd "$(dirname "$(readlink -f "$0")")"
mode=${1:-demo}

[ "$(id -u)" -eq 0 ] || { echo "bootstrap.sh: run as root (the lab needs namespaces and mounts)" >&2; exit 1; }

# Debian packages: sshd for the lab hosts, the database servers, and the
# Python libraries the lab's daemons use as system packages on their hosts.
packages=(openssh-server openssh-client cron mariadb-server mariadb-client postgresql redis-server
          python3 python3-venv python3-pymysql python3-boto3 python3-psycopg2 python3-redis
          iproute2 procps util-linux
          uwsgi-core uwsgi-plugin-python3 daemontools strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  # No init system here: keep package scripts from starting services; the lab starts them.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  rm -f /usr/sbin/policy-rc.d
fi

# The collection's Python: a venv with the pinned requirements, rebuilt when they change.
python=${REMEDIES_PYTHON:-$(command -v python3.11 || command -v python3)}
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating .venv with $python"
  "$python" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

case "$mode" in
  setup) echo "bootstrap: ready; try: .venv/bin/inv --list" ;;
  demo)  exec inv demo ;;
  test)  exec bash tests/run-all.sh ;;
  *) echo "usage: bash bootstrap.sh [demo|test|setup]" >&2; exit 2 ;;
esac
