#!/usr/bin/env bash
# A throw-away PostgreSQL 15 + pgvector server on 127.0.0.1, for tests and for trying replicas.
#
#   scripts/postgres-test-server.sh                 start it, print its URL, stop it on Ctrl-C
#   scripts/postgres-test-server.sh -- CMD ARGS...  start it, run CMD with GLEANER_TEST_DATABASE_URL
#                                                   set to its URL, stop it, exit with CMD's status
#
# What is missing is installed first: Debian's postgresql 15 and postgresql-server-dev-15 (apt-get,
# as root), then pgvector, built once from ../shared/vendor/pgvector-0.8.6.tar.gz (or
# $PGVECTOR_TARBALL). The cluster lives in a temp dir (initdb as the `postgres` OS user when run as
# root), listens on a free loopback port with a random password, and is removed on exit.
#
# When a command is given and PostgreSQL cannot be had (not root and not installed, no pgvector
# source, initdb fails), the reason is printed and CMD still runs, without the variable: the tests
# that need a real server then skip and say so.
set -euo pipefail

repository="$(cd "$(dirname "$0")/.." && pwd)"
pg_version=15
pg_bin="/usr/lib/postgresql/${pg_version}/bin"
tarball="${PGVECTOR_TARBALL:-${repository}/../shared/vendor/pgvector-0.8.6.tar.gz}"

command=()
if [ "${1:-}" = "--" ]; then
  shift
  command=("$@")
elif [ $# -gt 0 ]; then
  echo "usage: $0 [-- COMMAND [ARGS...]]" >&2
  exit 2
fi

say() { echo "postgres-test-server: $*" >&2; }

# --- installing what is missing -------------------------------------------------------------

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "$* is not installed and this is not root: cannot apt-get install it"
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq -o DPkg::Lock::Timeout=300 || return 1
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$@" >/dev/null
}

ensure_postgres() {
  [ -x "${pg_bin}/initdb" ] || apt_install "postgresql-${pg_version}"
}

ensure_pgvector() {
  local extension_dir
  extension_dir="$("${pg_bin}/pg_config" --sharedir)/extension"
  [ -f "${extension_dir}/vector.control" ] && return 0
  if [ ! -f "$tarball" ]; then
    say "pgvector is not installed and its source ${tarball} is absent"
    return 1
  fi
  if [ ! -w "$extension_dir" ]; then
    say "pgvector is not installed and ${extension_dir} is not writable (run once as root)"
    return 1
  fi
  if [ ! -f "$("${pg_bin}/pg_config" --includedir-server)/postgres.h" ]; then
    apt_install "postgresql-server-dev-${pg_version}" || return 1
  fi
  local build
  build="$(mktemp -d)"
  say "building pgvector from $(basename "$tarball")"
  tar xzf "$tarball" -C "$build"
  # OPTFLAGS="" leaves out -march=native, so the build runs on any x86-64
  if ! (cd "$build"/pgvector-* && make -s OPTFLAGS="" PG_CONFIG="${pg_bin}/pg_config" >"$build/make.log" 2>&1 &&
    make -s install PG_CONFIG="${pg_bin}/pg_config" >>"$build/make.log" 2>&1); then
    tail -n 30 "$build/make.log" >&2
    rm -rf "$build"
    say "building pgvector failed"
    return 1
  fi
  rm -rf "$build"
}

# --- the throw-away cluster -------------------------------------------------------------------

cluster=""
sleeper=""
stop_cluster() {
  if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; fi
  if [ -n "$cluster" ] && [ -d "$cluster" ]; then
    as_owner "${pg_bin}/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
    say "stopped and removed"
  fi
  cluster=""
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_cluster() {
  cluster="$(mktemp -d -t gleaner-postgres.XXXXXX)"
  local password port
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$cluster/password"
  chmod 600 "$cluster/password"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$cluster"; fi
  chmod 700 "$cluster"
  if ! as_owner "${pg_bin}/initdb" -D "$cluster/data" -U postgres --pwfile="$cluster/password" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1; then
    cat "$cluster/initdb.log" >&2
    say "initdb failed"
    return 1
  fi
  # a throw-away test server: durability buys nothing here and costs fsyncs on a shared disk
  for attempt in 1 2 3; do
    port="$(free_port)"
    if as_owner "${pg_bin}/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-p ${port} -k ${cluster} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    [ "$attempt" = 3 ] && { tail -n 20 "$cluster/server.log" >&2; say "pg_ctl start failed"; return 1; }
  done
  url="postgres://postgres:${password}@127.0.0.1:${port}/postgres"
  # template1 carries the extension, so every database a test creates has it too
  for database in template1 postgres; do
    PGPASSWORD="$password" "${pg_bin}/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres \
      -d "$database" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null || return 1
  done
}

trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)
url=""
if ensure_postgres && ensure_pgvector && start_cluster; then
  version="$("${pg_bin}/postgres" --version)"
  say "${version}, pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" \
    "$("${pg_bin}/pg_config" --sharedir)/extension/vector.control") ready in $(($(date +%s) - started)) s"
else
  stop_cluster
  url=""
  if [ ${#command[@]} -eq 0 ]; then exit 1; fi
  say "no real PostgreSQL: running the command without GLEANER_TEST_DATABASE_URL (those tests skip)"
fi

if [ ${#command[@]} -gt 0 ]; then
  status=0
  if [ -n "$url" ]; then
    GLEANER_TEST_DATABASE_URL="$url" "${command[@]}" || status=$?
  else
    "${command[@]}" || status=$?
  fi
  exit "$status"
fi

echo "$url"
say "try replicas with: GLEANER_DATABASE_URL='${url}' npm start (one per port: PORT=3001, 3002, ...)"
say "Ctrl-C stops the server and removes its data"
# waits in the background so a signal ends the wait at once; no output fd is held by the sleeper
while true; do
  sleep 3600 </dev/null >/dev/null 2>&1 &
  sleeper=$!
  wait "$sleeper" || true
done
