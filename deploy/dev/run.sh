#!/usr/bin/env bash
# The local stack behind `make run`: the demo's build service, then
# `velaflow dev` (Temporal dev server with Web UI + worker), then the demo
# run. Everything stops on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=bin
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/build-service" -addr 127.0.0.1:8090 >build-service.log 2>&1 &
pids+=($!)
"$BIN/velaflow" dev --db-file velaflow-dev.db >velaflow-dev.log 2>&1 &
pids+=($!)

echo "starting the Temporal dev server and a worker (log: velaflow-dev.log) ..."
for _ in $(seq 1 120); do
  if "$BIN/velaflow" list >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[1]}" 2>/dev/null; then cat velaflow-dev.log; exit 1; fi
  sleep 0.5
done

echo
echo "running examples/demo.yaml:"
"$BIN/velaflow" run -f examples/demo.yaml --definitions examples/definitions --wait || true
echo
"$BIN/velaflow" status demo
cat <<MSG

Temporal Web UI:  http://127.0.0.1:8233  (the run is workflow default/demo)
Try:              $BIN/velaflow list
                  $BIN/velaflow run -f examples/demo.yaml --definitions examples/definitions --wait
                  $BIN/velaflow def list
The stack keeps running; Ctrl-C stops it.
MSG
wait "${pids[1]}"
