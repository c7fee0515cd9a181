#!/usr/bin/env bash
# Keeps the Helm chart's CRDs (deploy/chart/crds/, which `helm install` applies before the
# templates) identical to the generated ones in deploy/crds/: copies every file over and
# removes those that are gone. With --check it changes nothing and fails when they differ
# (deploy/deploy_test.go checks the same). Run it after hack/generate.sh.
# Usage: hack/sync-chart-crds.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
src=deploy/crds dst=deploy/chart/crds
if [ "${1:-}" = "--check" ]; then
	if ! diff -r "$src" "$dst" >&2; then
		echo "sync-chart-crds: $dst differs from $src: run hack/sync-chart-crds.sh" >&2
		exit 1
	fi
	exit 0
fi
mkdir -p "$dst"
for f in "$dst"/*; do
	[ -e "$f" ] || continue
	[ -e "$src/$(basename "$f")" ] || rm -f "$f"
done
cp "$src"/*.yaml "$dst"/
