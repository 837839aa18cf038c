#!/usr/bin/env bash
# progress.sh WHAT COMMAND...: run a long build step, saying what it builds
# and, every 20 seconds, how long it has been going; then how long it took.
# A cold build of the tools takes minutes with no output of its own.
set -u
what=$1
shift
start=$(date +%s)
echo "building $what ..."
"$@" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 20); do
		sleep 1
		kill -0 "$pid" 2>/dev/null || break
	done
	if kill -0 "$pid" 2>/dev/null; then
		elapsed=$(($(date +%s) - start))
		printf '  ... still building %s: %dm%02ds so far\n' "$what" $((elapsed / 60)) $((elapsed % 60))
	fi
done
wait "$pid"
rc=$?
elapsed=$(($(date +%s) - start))
if [ "$rc" -eq 0 ]; then
	printf 'built %s in %dm%02ds\n' "$what" $((elapsed / 60)) $((elapsed % 60))
else
	printf 'building %s failed after %dm%02ds (exit %d)\n' "$what" $((elapsed / 60)) $((elapsed % 60)) "$rc" >&2
fi
exit "$rc"
