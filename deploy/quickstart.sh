#!/usr/bin/env bash
# The main job on the embedded defaults: builds `tombolo`, starts the local broker, and runs
# the bundled sample (examples/quickstart) through normalisation and resolution into a SQLite
# store and on to the topics `quickstart.person.v1` and `quickstart.organization.v1`, then
# prints a summary and the status. Run it again: nothing new is pulled or published.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

deploy/install-deps.sh
deploy/broker.sh start >&2
echo "== building tombolo (release)" >&2
cargo build --release --quiet -p tombolo-cli
BIN="$ROOT/target/release/tombolo"
CONFIG="$ROOT/examples/quickstart/tombolo.toml"

"$BIN" --config "$CONFIG" run
echo
"$BIN" --config "$CONFIG" status
