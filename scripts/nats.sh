# Sourced, after scripts/postgres.sh (its `wait_until`), by the scripts that need NATS with
# JetStream (the event sink's tests). `ensure_nats`
# makes sure a server answers on 127.0.0.1:4222, starting the installed `nats-server` with
# JetStream when it is down, or installing Debian's package first when it is missing (CI runs as
# root on a fresh machine).

ensure_nats() {
  local host=127.0.0.1 port=4222
  if nats_ready "$host" "$port"; then
    return 0
  fi
  echo "NATS is not answering on ${host}:${port}; trying to start it" >&2
  if ! command -v nats-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q nats-server >&2 || (apt-get update -q >&2 && apt-get install -y -q nats-server >&2)
  fi
  if command -v nats-server >/dev/null 2>&1; then
    local store="${TMPDIR:-/tmp}/ledgerline-nats"
    mkdir -p "$store"
    nohup nats-server -a "$host" -p "$port" -js -sd "$store" >"$store/nats.log" 2>&1 &
  fi
  wait_until "NATS" "Install it (apt-get install nats-server) and run it with JetStream (-js)." \
    nats_ready "$host" "$port"
}

nats_ready() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
