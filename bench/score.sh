#!/usr/bin/env bash
# Scores what examples/islands/run.sh wrote against the data's truth files with the shared
# scorers, one line per kind (precision, recall, F1; the README's islands table):
#
#   bench/score.sh DATA_DIR OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
T="$ROOT/../shared/tools"
D="${1:?data directory}"
O="${2:?output directory of run.sh}"

pairwise() { python3 "$T/score_crosswalk.py" "$@" | grep '^pairwise'; }
links() { python3 "$T/score_links.py" "$@" | tail -2 | paste -sd " "; }

echo "people:        $(pairwise "$D/truth_person.csv" "$O/person_crosswalk.csv")"
echo "organisations: $(pairwise "$D/truth_org.csv" "$O/org_crosswalk.csv")"
[ -f "$O/place_crosswalk.csv" ] || exit 0
echo "places:        $(pairwise "$D/truth_place.csv" "$O/place_crosswalk.csv")"
echo "house owners:  $(links "$D/truth_thing.csv" owner_id "$O/house_owner_links.csv" \
  "$D/truth_person.csv" "$O/person_crosswalk.csv")"
echo "incidents:     $(pairwise "$D/truth_event.csv" "$O/event_crosswalk.csv")"
echo "reporters:     $(links "$D/truth_event.csv" person_id "$O/event_person_links.csv" \
  "$D/truth_person.csv" "$O/person_crosswalk.csv")"
echo "event places:  $(links "$D/truth_event.csv" place_id "$O/event_place_links.csv" \
  "$D/truth_place.csv" "$O/place_crosswalk.csv" --tree "$D/truth_place_tree.csv" \
  --hierarchy "$O/place_hierarchy.csv")"
