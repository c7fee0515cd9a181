#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy into DIR (there is no download of envtest's
# binaries on these machines). A throwaway module requires k8s.io/kubernetes at VERSION and
# points every staging module it replaces with a local path at the published copy
# (k8s.io/<name> v0.MINOR.PATCH). Usage: hack/build-kube-apiserver.sh VERSION DIR
set -euo pipefail
version="$1" dir="$2"
staging="v0.${version#v1.}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off
go mod init kube-apiserver-build >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || { echo "build-kube-apiserver: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
{
	echo "require k8s.io/kubernetes $version"
	sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#replace \1 => \1 '"$staging"'#p' "$gomod"
} >>go.mod
cat >main.go <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
go mod tidy >/dev/null 2>&1 || go mod tidy
mkdir -p "$dir"
CGO_ENABLED=0 go build -trimpath -o "$dir/kube-apiserver.tmp" .
mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
