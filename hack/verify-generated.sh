#!/usr/bin/env bash
# Fails when the generated files (deepcopy, CRDs) do not match the API types: it runs
# hack/generate.sh in a scratch copy of the working tree and compares the results, so the
# working tree itself is never changed.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tar --exclude=./.git --exclude=./bin -cf - . | tar -C "$tmp" -xf -
(cd "$tmp" && bash hack/generate.sh >/dev/null 2>"$tmp/.generate.log") || {
	cat "$tmp/.generate.log" >&2
	exit 1
}
status=0
for path in api/v1/zz_generated.deepcopy.go deploy/crds deploy/chart/crds; do
	if ! diff -ru "$path" "$tmp/$path" >&2; then
		echo "verify-generated: $path is out of date with the types in api/: run hack/generate.sh and commit the result" >&2
		status=1
	fi
done
[ "$status" -ne 0 ] || echo "verify-generated: deepcopy and CRDs match api/" >&2
exit "$status"
