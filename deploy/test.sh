#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it: installs what is missing,
# starts the local broker, then runs every test of the workspace against the real PostgreSQL,
# MariaDB and broker (unit tests, connector tests, end-to-end tests in tests/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

deploy/install-deps.sh
# A broker of its own for the tests, with fresh state each session and on its own port, so a
# developer's broker (deploy/broker.sh start, port 9092) is left alone.
# Its maintenance (compaction) is put off for a day: tansu answers nothing while it compacts a
# large database, and no test needs compaction to have run.
TEST_BROKER_PORT="${TOMBOLO_TEST_BROKER_PORT:-19092}"
export TOMBOLO_BROKER_MAINTENANCE="${TOMBOLO_BROKER_MAINTENANCE:-86400s}"
TOMBOLO_BROKER_PORT="$TEST_BROKER_PORT" deploy/broker.sh fresh

export TOMBOLO_TEST_POSTGRES="${TOMBOLO_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
export TOMBOLO_TEST_MYSQL="${TOMBOLO_TEST_MYSQL:-mysql://root@127.0.0.1:3306/test}"
export TOMBOLO_TEST_BROKERS="127.0.0.1:$TEST_BROKER_PORT"

# The tests that need the services are behind the `integration` feature of these crates; a
# plain `cargo test` runs the rest and lists them as ignored.
FEATURES=tombolo-cli/integration,tombolo-store/integration,tombolo-connector-sql/integration
if [ $# -gt 0 ]; then
  exec cargo test --workspace --no-fail-fast --features "$FEATURES" "$@"
fi
# The whole city through the broker (tests/e2e/islands.rs: eleven sources, about 85,000
# messages) runs last, on a fresh broker of its own, so the rest of the suite's messages do not
# weigh on the local test broker (tansu on SQLite) while it reads every topic back: once on
# each store.
ISLANDS=islands::islands_load_resolve_publish_and_follow_changes
E2E=(cargo test -p tombolo-cli --no-fail-fast --features tombolo-cli/integration --test e2e --)
status=0
cargo test --workspace --no-fail-fast --features "$FEATURES" -- --skip "$ISLANDS" || status=$?
# The crash, resolution and at-rest tests again with their hub's store on PostgreSQL
# (TOMBOLO_TEST_STORE, tests/e2e/support.rs), as a production hub runs.
TOMBOLO_TEST_STORE=postgres "${E2E[@]}" crash:: resolution:: at_rest:: --skip "$ISLANDS" || status=$?
for store in sqlite postgres; do
  TOMBOLO_BROKER_PORT="$TEST_BROKER_PORT" deploy/broker.sh fresh
  TOMBOLO_TEST_STORE="$store" "${E2E[@]}" --exact "$ISLANDS" || status=$?
done
exit "$status"
