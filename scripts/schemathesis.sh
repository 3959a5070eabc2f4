#!/usr/bin/env bash
# The API against its own spec: schemathesis (PyPI, pinned in
# tests/schemathesis/requirements.txt, installed by scripts/setup.sh into
# target/schemathesis-venv) runs every phase (examples, coverage, fuzzing,
# and stateful through the spec's links) with every check against
# docs/openapi.yaml and the release server with --dev on a scratch SQLite
# file, for a bounded time.
#
#   ST_SECS   time budget (default 75; `make schemathesis-long` runs 1800)
#   ST_SEED   Hypothesis seed (default 14; a failure prints its seed)
#
# A few real cart tokens (created first, some with lines) are offered for
# the `token` path parameter most of the time, so the phases that do not
# follow links reach past 404; attach gets a real user token. Exits non-zero
# on any failure; the JSON report is in target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${ST_SECS:-75}
seed=${ST_SEED:-14}
st=target/schemathesis-venv/bin/st
[ -x "$st" ] || { echo "schemathesis is missing: run scripts/setup.sh" >&2; exit 1; }
bin=target/release/cartsync-server
[ -x "$bin" ] || { echo "no $bin: run cargo build --release -p cartsync-server" >&2; exit 1; }

out=target/schemathesis
rm -rf "$out" && mkdir -p "$out"
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$bin" --listen "127.0.0.1:$port" --database "sqlite://$work/st.db" --dev --secret schemathesis \
  2>"$out/server.log" &
pid=$!
for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "$url/healthz" >/dev/null || { echo "the server did not start:"; cat "$out/server.log"; exit 1; }

tokens=()
for i in $(seq 6); do
  t=$(curl -fs -X POST "$url/api/v1/carts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  if [ $((i % 2)) = 0 ]; then
    curl -fs -X POST "$url/api/v1/carts/$t/mutations" -H 'content-type: application/json' \
      -d "{\"mutations\":[{\"id\":\"$(python3 -c 'import uuid; print(uuid.uuid4())')\",\"command\":{\"type\":\"add_item\",\"sku\":\"tee-black\",\"quantity\":1}}]}" >/dev/null
  fi
  tokens+=("\"$t\"")
done
jwt=$(curl -fs -X POST "$url/api/v1/dev/login" -H 'content-type: application/json' -d '{"user":"schemathesis"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cat >"$work/schemathesis.toml" <<TOML
[dictionaries.tokens]
values = [$(IFS=,; echo "${tokens[*]}")]

[parameters]
"path.token" = { dictionary = "tokens", probability = 0.7 }

# 410 cart_merged answers valid requests on a cart that was attached to
# an account (a documented, final state), as 404 does for unknown carts.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]

[[operations]]
include-operation-id = "attachCart"
headers = { Authorization = "Bearer $jwt" }
TOML

set +e
"$st" --config-file "$work/schemathesis.toml" run docs/openapi.yaml --url "$url" \
  --checks all --max-time "$secs" --seed "$seed" --workers 2 \
  --report json,junit --report-dir "$out" --output-truncate true >"$out/output.txt" 2>&1
rc=$?
set -e
python3 - "$out" "$rc" <<'PY'
import glob, json, sys
out, rc = sys.argv[1], int(sys.argv[2])
reports = glob.glob(f"{out}/json-*.json") + glob.glob(f"{out}/*.json")
if not reports:
    print(open(f"{out}/output.txt").read()[-4000:])
    sys.exit(f"schemathesis wrote no report (exit {rc})")
r = json.load(open(reports[0]))
ops, cases = r["operations"], r["test_cases"]
phases = ", ".join(f"{k} {v['status']}" for k, v in r["phases"].items())
print(f"schemathesis {r['schemathesis_version']}: {ops['tested']}/{ops['total']} operations, "
      f"{cases['generated']} cases in {r['running_time']:.0f} s (seed {r['seed']}); phases: {phases}; "
      f"failures: {cases['unique_failures']}, errors: {len(r['errors'])}")
for f in r["failures"]:
    print(f"  {f['code']} {f['title']}: {f['count']} in {', '.join(f['operations'])}")
if rc != 0 or r["failures"] or r["errors"]:
    print(open(f"{out}/output.txt").read()[-8000:])
    sys.exit(1)
PY
