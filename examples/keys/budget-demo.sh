#!/usr/bin/env bash
# Virtual keys end to end against a running Easel proxy (docs/keys.md):
#   a team, a key of that team with a budget, edits with the key until the budget stops it, then /key/info.
#
#   ./easel --config examples/quickstart.yaml &          # embedded SQLite, offline mock provider
#   EASEL_URL=http://127.0.0.1:4000 MASTER_KEY=sk-easel-local examples/keys/budget-demo.sh
#
# The same script runs against a fleet on PostgreSQL + Redis (examples/fleet): point EASEL_URL at any replica.
# Needs curl and python3 (to read the JSON answers). Names get a suffix, so it can run again on the same database.
set -euo pipefail

EASEL_URL="${EASEL_URL:-http://127.0.0.1:4000}"
MASTER_KEY="${MASTER_KEY:-sk-easel-local}"
MODEL="${MODEL:-gpt-image-1}"
BUDGET="${BUDGET:-0.2}"
MAX_EDITS="${MAX_EDITS:-50}"
HERE="$(cd "$(dirname "$0")" && pwd)"
IMAGE="${IMAGE:-$HERE/../images/original_image.png}"
RUN="$(date +%s)-$$"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

field() { # field <json-file> <python expression on d>
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

admin() { # admin <path> <json body>: POST with the master key, fails on a non-2xx answer
  local status
  status=$(curl -sS -o "$TMP/answer.json" -w '%{http_code}' "$EASEL_URL$1" \
    -H "Authorization: Bearer $MASTER_KEY" -H 'Content-Type: application/json' -d "$2")
  if [[ "$status" != 2* ]]; then
    echo "POST $1 answered $status: $(cat "$TMP/answer.json")" >&2
    exit 1
  fi
}

echo "== team demo-team-$RUN"
admin /team/new "{\"team_id\":\"demo-team-$RUN\",\"team_alias\":\"Demo team\",\"max_budget\":10}"

echo "== key demo-key-$RUN: max_budget $BUDGET USD per 30d, models [$MODEL]"
admin /key/generate "{\"key_alias\":\"demo-key-$RUN\",\"team_id\":\"demo-team-$RUN\",\"max_budget\":$BUDGET,\
\"budget_duration\":\"30d\",\"models\":[\"$MODEL\"],\"rpm_limit\":600}"
KEY=$(field "$TMP/answer.json" 'd["key"]')
echo "   key_name $(field "$TMP/answer.json" 'd["key_name"]') (the key itself is shown once, only here)"

echo "== editing with the key until its budget stops it"
stopped=""
for ((i = 1; i <= MAX_EDITS; i++)); do
  status=$(curl -sS -o "$TMP/edit.json" -D "$TMP/headers.txt" -w '%{http_code}' "$EASEL_URL/v1/images/edits" \
    -H "Authorization: Bearer $KEY" -F "model=$MODEL" -F "prompt=add a red hat" -F "image=@$IMAGE;type=image/png")
  cost=$(tr -d '\r' < "$TMP/headers.txt" | sed -n 's/^x-easel-response-cost: //Ip')
  spent=$(tr -d '\r' < "$TMP/headers.txt" | sed -n 's/^x-easel-key-spend: //Ip')
  if [[ "$status" == 200 ]]; then
    echo "   edit $i: 200, cost ${cost:-?} USD (key spend before it ${spent:-?} USD)"
  else
    echo "   edit $i: $status $(field "$TMP/edit.json" 'd["error"]["code"] + ": " + d["error"]["message"]')"
    stopped=$(field "$TMP/edit.json" 'd["error"]["code"]')
    break
  fi
done
if [[ "$stopped" != budget_exceeded ]]; then
  echo "the budget did not stop the key within $MAX_EDITS edits" >&2
  exit 1
fi

echo "== /key/info"
curl -sS "$EASEL_URL/key/info?key=$KEY" -H "Authorization: Bearer $MASTER_KEY" > "$TMP/info.json"
python3 -m json.tool "$TMP/info.json"
