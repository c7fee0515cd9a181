#!/usr/bin/env bash
# Runs every native fuzz target of the module for a short time (FUZZTIME, default 6s each).
# Seed corpora run as part of `go test` anyway; this explores beyond them.
#
# Each package's test binary is built once, instrumented for fuzzing (`go test -c -fuzz`),
# and runs each of its targets from the package's directory with the fuzz cache `go test`
# would use: `go test -fuzz` per target linked the binary again and spent about 5 seconds
# before fuzzing began, for each of the 44 targets.
#
# Fuzzing on a loaded machine sometimes ends a run that found nothing with
# "context deadline exceeded" and exit status 1. A real finding always writes the failing
# input under testdata/fuzz/NAME/; so a target that failed with that message and wrote no
# new input is run again (twice at most). Any other failure fails at once.
set -euo pipefail
fuzztime="${FUZZTIME:-6s}"
cd "$(dirname "$0")/.."
module="$(go list -m)"
fuzzcache="$(go env GOCACHE)/fuzz"
status=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/log"
while IFS=: read -r file name; do
	dir="$(dirname "$file")"
	pkg="$module/${dir#./}"
	bin="$work/${dir#./}.test"
	if [ ! -e "$bin" ]; then
		mkdir -p "$(dirname "$bin")"
		if ! go test -c -fuzz=. -o "$bin" "$dir" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz: cannot build the fuzz test binary of $pkg" >&2
			status=1
			touch "$bin"
			continue
		fi
	fi
	if [ ! -x "$bin" ]; then
		continue # its build failed, said above
	fi
	corpus="$dir/testdata/fuzz/$name"
	for attempt in 1 2 3; do
		echo "fuzz: $name in $dir for $fuzztime" >&2
		before="$(ls "$corpus" 2>/dev/null | sort || true)"
		if (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^${name}\$" -test.fuzztime="$fuzztime" \
			-test.fuzzcachedir="$fuzzcache/$pkg" -test.paniconexit0 -test.timeout=10m) >"$log" 2>&1; then
			cat "$log"
			break
		fi
		cat "$log"
		after="$(ls "$corpus" 2>/dev/null | sort || true)"
		if [ "$attempt" -lt 3 ] && [ "$before" = "$after" ] && grep -q "context deadline exceeded" "$log"; then
			echo "fuzz: $name stopped with 'context deadline exceeded' and no failing input: running it again" >&2
			continue
		fi
		echo "fuzz: $name in $pkg failed" >&2
		status=1
		break
	done
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's/:func /:/' | sort -u)
exit $status
