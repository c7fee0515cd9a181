#!/usr/bin/env bash
# Runs every native fuzz target of the module for a short time (FUZZTIME, default 10s each).
# Seed corpora run as part of `go test` anyway; this explores beyond them.
set -euo pipefail
fuzztime="${FUZZTIME:-10s}"
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r file name; do
	pkg="./$(dirname "$file")"
	echo "fuzz: $name in $pkg for $fuzztime" >&2
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"; then
		status=1
	fi
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's/:func /:/' | sort -u)
exit $status
