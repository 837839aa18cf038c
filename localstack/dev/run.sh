#!/usr/bin/env bash
# The local stack behind `make run`: the demo's build service, `velaflow dev`
# (Temporal dev server with the Web UI, a worker, and two Kubernetes control
# planes "shanghai" and "us-west" on loopback), a stand-in for the
# OpenKruise operator, then the multi-region pre-warm run
# (examples/prewarm). Everything stops on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=bin

# A second stack must not run beside a first one: it would report on the
# first one's server and overwrite its logs. Check before touching anything.
for port in 7233 8233 8090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make run: 127.0.0.1:$port is in use (is another velaflow stack running? stop it with Ctrl-C first); nothing was started" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/build-service" -addr 127.0.0.1:8090 -build-time 4s >build-service.log 2>&1 &
pids+=($!)
"$BIN/velaflow" dev --db-file velaflow-dev.db \
  --local-clusters shanghai,us-west --crds examples/prewarm/crds \
  --definitions examples/prewarm/definitions --definitions examples/definitions \
  >velaflow-dev.log 2>&1 &
dev=$!
pids+=($dev)

echo "starting Temporal, a worker and two Kubernetes clusters (log: velaflow-dev.log) ..."
for _ in $(seq 1 240); do
  if [ -f .velaflow-dev/clusters/clusters.yaml ] && "$BIN/velaflow" cluster list >/dev/null 2>&1; then break; fi
  if ! kill -0 "$dev" 2>/dev/null; then cat velaflow-dev.log; exit 1; fi
  sleep 0.5
done
"$BIN/velaflow" cluster list

"$BIN/imagepull-operator" --clusters .velaflow-dev/clusters/clusters.yaml --pull-time 3s >imagepull-operator.log 2>&1 &
pids+=($!)

echo
echo "running examples/prewarm/prewarm.yaml:"
"$BIN/velaflow" run -f examples/prewarm/prewarm.yaml --definitions examples/prewarm/definitions --wait || true
echo
"$BIN/velaflow" status prewarm
echo
echo "velaflow logs prewarm --step cache-template:"
"$BIN/velaflow" logs prewarm --step cache-template || true
cat <<MSG

Temporal Web UI:  http://127.0.0.1:8233  (workflow default/prewarm; the group is default/prewarm/prewarm)
Try:              $BIN/velaflow list
                  $BIN/velaflow run -f examples/prewarm/prewarm.yaml --definitions examples/prewarm/definitions --wait
                  $BIN/velaflow run -f examples/demo.yaml --definitions examples/definitions --wait
                  $BIN/velaflow def list
                  $BIN/velaflow cluster list    (kubeconfigs: .velaflow-dev/clusters/*/kubeconfig)
The stack keeps running; Ctrl-C stops it.
MSG
wait "$dev"
