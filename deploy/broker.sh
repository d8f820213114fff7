#!/usr/bin/env bash
# Local Kafka-compatible broker for development and tests: tansu (crates.io, Apache-2.0).
# Production runs Apache Kafka or Redpanda; Tombolo only uses standard Kafka APIs.
#
#   deploy/broker.sh start    install tansu when missing (about 17 minutes once), start it on
#                             127.0.0.1:9092 with durable SQLite storage, wait until ready
#   deploy/broker.sh stop     stop it
#   deploy/broker.sh restart  stop, then start with fresh state when the storage is memory
#   deploy/broker.sh status   say whether it answers
#
#   deploy/broker.sh fresh    stop, delete the broker's state, start (the test suite's broker)
#
# Environment: TOMBOLO_BROKER_PORT (default 9092); TOMBOLO_BROKER_STORAGE: `sqlite` (durable,
# default) or `memory` (tansu's in-memory engine; measured here to lose messages under load, so
# not used by the tests); TOMBOLO_BROKER_DIR (state and log; default
# ~/.local/share/tombolo/broker-PORT); TOMBOLO_BROKER_MAINTENANCE: how often tansu runs its
# maintenance (compaction, retention) on SQLite storage, e.g. `86400s` (default: tansu's own,
# 10 minutes). tansu answers nothing while it compacts a large database (minutes, measured
# here), so the test suite sets a day: no test needs compaction to have run.
set -euo pipefail

PORT="${TOMBOLO_BROKER_PORT:-9092}"
STORAGE="${TOMBOLO_BROKER_STORAGE:-sqlite}"
DIR="${TOMBOLO_BROKER_DIR:-$HOME/.local/share/tombolo/broker-$PORT}"
VERSION=0.6.0
export PATH="$HOME/.cargo/bin:$PATH"

answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

install() {
  if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -q "$VERSION"; then
    return
  fi
  echo "broker: installing tansu $VERSION from crates.io (about 17 minutes, once)" >&2
  cargo install tansu --version "$VERSION" --locked --features libsql,dynostore >&2
}

# tansu 0.6 keeps record headers in SQLite without an index on the record they belong to, so
# every fetch scans all headers for every record it returns: measured here, a 35,000-message
# topic behind 75,000 messages with headers timed out (a fetch over 120 s); with this index it
# is read in 7 s. An index tansu does not know of costs it nothing else.
index_headers() {
  python3 - "$DIR/tansu.db" <<'PY'
import sqlite3, sys, time
for _ in range(100):
    try:
        db = sqlite3.connect(sys.argv[1], timeout=30)
        db.execute("CREATE INDEX IF NOT EXISTS tombolo_header_record ON header (topition, offset_id)")
        db.commit()
        sys.exit(0)
    except sqlite3.OperationalError as e:  # the schema not made yet, or the database busy
        err = e
        time.sleep(0.1)
print(f"broker: could not index tansu's record headers: {err}", file=sys.stderr)
sys.exit(1)
PY
}

start() {
  if answers; then
    echo "broker: already answering on 127.0.0.1:$PORT"
    return
  fi
  install
  mkdir -p "$DIR"
  cd "$DIR"
  : > tansu.log
  case "$STORAGE" in
    sqlite) ENGINE="sqlite://tansu.db${TOMBOLO_BROKER_MAINTENANCE:+?maintenance_interval=$TOMBOLO_BROKER_MAINTENANCE}" ;;
    memory) ENGINE='memory://tansu/' ;;
    *) echo "broker: TOMBOLO_BROKER_STORAGE must be sqlite or memory" >&2; exit 2 ;;
  esac
  nohup tansu broker \
    --listener-url "tcp://127.0.0.1:$PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine "$ENGINE" \
    >>tansu.log 2>&1 &
  echo $! > tansu.pid
  for _ in $(seq 1 300); do
    if grep -q 'ready in' tansu.log 2>/dev/null && answers; then
      [ "$STORAGE" = sqlite ] && index_headers
      echo "broker: tansu ready on 127.0.0.1:$PORT ($STORAGE storage, log in $DIR)"
      return
    fi
    if ! kill -0 "$(cat tansu.pid)" 2>/dev/null; then
      echo "broker: tansu exited; log:" >&2
      tail -20 tansu.log >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "broker: tansu did not become ready in 30 s" >&2
  tail -20 tansu.log >&2
  exit 1
}

stop() {
  if [ -f "$DIR/tansu.pid" ]; then
    pid="$(cat "$DIR/tansu.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/tansu.pid"
  fi
  echo "broker: stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  fresh) stop; rm -f "$DIR"/tansu.db*; start ;;
  status) if answers; then echo "broker: answering on 127.0.0.1:$PORT"; else echo "broker: not running"; exit 1; fi ;;
  install) install ;;
  *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
