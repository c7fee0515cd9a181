#!/usr/bin/env bash
# Runs every native fuzz target of the module for a short time (FUZZTIME, default 6s each).
# Seed corpora run as part of `go test` anyway; this explores beyond them.
#
# `go test -fuzz` on a loaded machine sometimes ends a run that found nothing with
# "context deadline exceeded" and exit status 1. A real finding always writes the failing
# input under testdata/fuzz/NAME/; so a target that failed with that message and wrote no
# new input is run again (twice at most). Any other failure fails at once.
set -euo pipefail
fuzztime="${FUZZTIME:-6s}"
cd "$(dirname "$0")/.."
status=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
while IFS=: read -r file name; do
	pkg="./$(dirname "$file")"
	corpus="$(dirname "$file")/testdata/fuzz/$name"
	for attempt in 1 2 3; do
		echo "fuzz: $name in $pkg for $fuzztime" >&2
		before="$(ls "$corpus" 2>/dev/null | sort || true)"
		if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" >"$log" 2>&1; then
			cat "$log"
			break
		fi
		cat "$log"
		after="$(ls "$corpus" 2>/dev/null | sort || true)"
		if [ "$attempt" -lt 3 ] && [ "$before" = "$after" ] && grep -q "context deadline exceeded" "$log"; then
			echo "fuzz: $name stopped with 'context deadline exceeded' and no failing input: running it again" >&2
			continue
		fi
		status=1
		break
	done
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's/:func /:/' | sort -u)
exit $status
