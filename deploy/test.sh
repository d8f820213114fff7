#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it: installs what is missing,
# starts the local broker, then runs every test of the workspace against the real PostgreSQL,
# MariaDB and broker (unit tests, connector tests, end-to-end tests in tests/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

deploy/install-deps.sh
deploy/broker.sh start

export TOMBOLO_TEST_POSTGRES="${TOMBOLO_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
export TOMBOLO_TEST_MYSQL="${TOMBOLO_TEST_MYSQL:-mysql://root@127.0.0.1:3306/test}"
export TOMBOLO_TEST_BROKERS="${TOMBOLO_TEST_BROKERS:-127.0.0.1:9092}"

cargo test --workspace --no-fail-fast "$@"
