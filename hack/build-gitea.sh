#!/usr/bin/env bash
# Builds Gitea from the Go module proxy into DIR, with the options/ and templates/ it needs at
# run time beside the binary. A throwaway module requires code.gitea.io/gitea at VERSION,
# copies that version's replace lines and uses Gitea's own main.go.
# Usage: hack/build-gitea.sh VERSION DIR
set -euo pipefail
version="$1" dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off
go mod init gitea-build >/dev/null 2>&1
info="$(go mod download -json "code.gitea.io/gitea@$version")"
gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$info")"
src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
[ -f "$gomod" ] && [ -d "$src" ] || { echo "build-gitea: cannot download code.gitea.io/gitea@$version" >&2; exit 1; }
{
	echo "require code.gitea.io/gitea $version"
	grep '^replace ' "$gomod" | sed 's#//.*##'
} >>go.mod
cp "$src/main.go" main.go
chmod u+w main.go
go mod tidy >/dev/null 2>&1 || go mod tidy
mkdir -p "$dir"
CGO_ENABLED=1 go build -trimpath -tags 'sqlite sqlite_unlock_notify' -o "$dir/gitea.tmp" .
rm -rf "$dir/options" "$dir/templates"
cp -r "$src/options" "$src/templates" "$dir/"
chmod -R u+w "$dir/options" "$dir/templates"
mv "$dir/gitea.tmp" "$dir/gitea"
