#!/usr/bin/env bash
# Builds the deployment tools that deploy/'s tests run from the Go module proxy into DIR
# (there is no download of release binaries on these machines):
#   kubectl  a throwaway module whose main is kubectl's own (k8s.io/kubectl/pkg/cmd)
#   helm     `go install helm.sh/helm/v3/cmd/helm@VERSION` (its go.mod has no replace lines)
# Usage: hack/build-deploy-tools.sh kubectl|helm VERSION DIR
set -euo pipefail
tool="$1" version="$2" dir="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
mkdir -p "$dir"
case "$tool" in
kubectl)
	go mod init kubectl-build >/dev/null 2>&1
	echo "require k8s.io/kubectl $version" >>go.mod
	cat >main.go <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
	go mod tidy >/dev/null 2>&1 || go mod tidy
	# kubectl version --client: k8s.io/kubectl v0.MINOR.PATCH is Kubernetes v1.MINOR.PATCH.
	kube="v1.${version#v0.}"
	ldflags=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$kube")"
	done
	go build -trimpath -ldflags "$ldflags" -o "$dir/kubectl.tmp" .
	mv "$dir/kubectl.tmp" "$dir/kubectl"
	;;
helm)
	# The ldflags of Helm's own Makefile: its version, and the Kubernetes version it assumes
	# without a cluster (helm template, helm lint), 1.MINOR of the client-go it requires.
	gomod="$(go mod download -json "helm.sh/helm/v3@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
	[ -f "$gomod" ] || { echo "build-deploy-tools: no go.mod for helm.sh/helm/v3@$version" >&2; exit 1; }
	minor="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")"
	[ -n "$minor" ] || { echo "build-deploy-tools: no k8s.io/client-go in $gomod" >&2; exit 1; }
	ldflags="-X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.metadata="
	for pkg in pkg/lint/rules pkg/chartutil; do
		ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
	done
	GOBIN="$work/bin" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
	mv "$work/bin/helm" "$dir/helm"
	;;
*)
	echo "build-deploy-tools: unknown tool $tool (want kubectl or helm)" >&2
	exit 2
	;;
esac
