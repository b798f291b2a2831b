# Sourced by the scripts that need PostgreSQL. `ensure_postgres` makes sure a server answers on
# $PGHOST:$PGPORT (default 127.0.0.1:5432), starting the local cluster when it is installed but
# down, and sets POSTGRES_URL. Connect to 127.0.0.1, not localhost: the server listens on IPv4.

ensure_postgres() {
  local host="${PGHOST:-127.0.0.1}" port="${PGPORT:-5432}" user="${PGUSER:-postgres}"
  POSTGRES_URL="postgres://${user}@${host}:${port}/postgres"
  if pg_ready "$host" "$port"; then
    return 0
  fi
  echo "PostgreSQL is not answering on ${host}:${port}; trying to start the local cluster" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ -n "$version" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
  fi
  wait_until "PostgreSQL" "Install PostgreSQL (apt-get install postgresql) or point PGHOST/PGPORT at one." \
    pg_ready "$host" "$port"
}

# wait_until NAME HINT COMMAND…: runs COMMAND once a second until it succeeds; after 30 s says
# that NAME is not reachable, with HINT, and exits.
wait_until() {
  local name="$1" hint="$2" waited=0
  shift 2
  until "$@"; do
    if [ "$waited" -ge 30 ]; then
      echo "error: ${name} is not reachable on ${*: -2:1}:${*: -1}." >&2
      echo "$hint" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2"
  else
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  fi
}
