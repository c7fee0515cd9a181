#!/usr/bin/env bash
# Installs what tagflow's test suite needs on a fresh Debian machine, and does nothing when it
# is already there. Real servers for the integration tests come from Debian's packages:
#   docker-registry  the CNCF distribution registry (integration tests of scanner/)
#   git              git http-backend, the Git server of committer/ tests
#   gnupg, openssh-client  to verify signed commits with `git verify-commit`
#   etcd-server      etcd for envtest (controller/ tests), beside a kube-apiserver built here
#   tinyproxy-bin    a real HTTP forward proxy (proxySecretRef tests); the binary only, no service
#   chromium         headless Chromium, driven by the status page's browser test
# Binaries built from the Go module proxy are cached under TAGFLOW_TESTBIN
# (default $HOME/.cache/tagflow-testbin) and rebuilt only when their pinned version changes.
set -euo pipefail

packages=()
command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
command -v git >/dev/null 2>&1 || packages+=(git)
command -v gpg >/dev/null 2>&1 || packages+=(gnupg)
command -v ssh-keygen >/dev/null 2>&1 || packages+=(openssh-client)
command -v tinyproxy >/dev/null 2>&1 || packages+=(tinyproxy-bin)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)

apt_install() {
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v etcd >/dev/null 2>&1 || packages+=(etcd-server)

if ((${#packages[@]} > 0)); then
	echo "testdeps: installing ${packages[*]}" >&2
	apt_install "${packages[@]}"
fi

# git http-backend ships with git; say so plainly if a trimmed git lacks it.
backend="$(git --exec-path)/git-http-backend"
if [ ! -x "$backend" ]; then
	echo "testdeps: $backend is missing (install Debian's git package)" >&2
	exit 1
fi
echo "testdeps: docker-registry $(docker-registry --version | awk '{print $3}'), $(git --version), $(gpg --version | head -1)" >&2

# CNCF distribution v3, which (unlike Debian's 2.8) pages tag lists itself: built from the Go
# module proxy once per pinned version (internal/testbed.DistributionV3Version) and cached.
testbin="${TAGFLOW_TESTBIN:-$HOME/.cache/tagflow-testbin}"
here="$(cd "$(dirname "$0")/.." && pwd)"
# pinned NAME FILE prints the value of `const NAME = "vX.Y.Z"` in internal/testbed/FILE.
pinned() {
	local v
	v="$(sed -n 's/^const '"$1"' = "\(v[0-9.]*\)"$/\1/p' "$here/internal/testbed/$2")"
	if [ -z "$v" ]; then
		echo "testdeps: cannot read $1 from internal/testbed/$2" >&2
		exit 1
	fi
	echo "$v"
}
dist_version="$(pinned DistributionV3Version registry.go)"
dist_dir="$testbin/distribution-$dist_version"
if [ ! -x "$dist_dir/registry" ]; then
	echo "testdeps: building distribution $dist_version registry into $dist_dir (a few minutes, once)" >&2
	mkdir -p "$dist_dir"
	(cd "$(mktemp -d)" && GOFLAGS=-buildvcs=false GOBIN="$dist_dir" go install "github.com/distribution/distribution/v3/cmd/registry@$dist_version")
fi
echo "testdeps: distribution $dist_version at $dist_dir/registry" >&2

# kube-apiserver for envtest (controller/ tests), built once per pinned version
# (internal/testbed.KubeVersion), beside Debian's etcd.
kube_version="$(pinned KubeVersion kube.go)"
kube_dir="$testbin/kube-$kube_version"
if [ ! -x "$kube_dir/kube-apiserver" ]; then
	echo "testdeps: building kube-apiserver $kube_version into $kube_dir (about 6 minutes, once)" >&2
	"$here/hack/build-kube-apiserver.sh" "$kube_version" "$kube_dir"
fi
ln -sf "$(command -v etcd)" "$kube_dir/etcd"
echo "testdeps: kube-apiserver $kube_version and etcd $(etcd --version | sed -n 's/^etcd Version: //p') in $kube_dir" >&2

# Gitea, the real forge of the pull-request tests, built once per pinned version
# (internal/testbed.GiteaVersion).
gitea_version="$(pinned GiteaVersion gitea.go)"
gitea_dir="$testbin/gitea-$gitea_version"
if [ ! -x "$gitea_dir/gitea" ]; then
	echo "testdeps: building Gitea $gitea_version into $gitea_dir (about 6 minutes, once)" >&2
	"$here/hack/build-gitea.sh" "$gitea_version" "$gitea_dir"
fi
echo "testdeps: Gitea $gitea_version at $gitea_dir/gitea" >&2

# cosign, which signs the images of the signature-verification tests, built from the Go
# module proxy once per pinned version (internal/testbed.CosignVersion).
cosign_version="$(pinned CosignVersion cosign.go)"
cosign_dir="$testbin/cosign-$cosign_version"
if [ ! -x "$cosign_dir/cosign" ]; then
	echo "testdeps: building cosign $cosign_version into $cosign_dir (a few minutes, once)" >&2
	mkdir -p "$cosign_dir"
	(cd "$(mktemp -d)" && GOFLAGS=-buildvcs=false GOBIN="$cosign_dir" go install "github.com/sigstore/cosign/v3/cmd/cosign@$cosign_version")
fi
echo "testdeps: cosign $cosign_version at $cosign_dir/cosign" >&2

# kubectl and helm for deploy/'s tests (kubectl kustomize, helm lint and template, server-side
# dry runs), built from the Go module proxy once per pinned version
# (internal/testbed.KubectlVersion, HelmVersion) by hack/build-deploy-tools.sh.
for tool in kubectl:KubectlVersion helm:HelmVersion; do
	name="${tool%%:*}"
	tool_version="$(pinned "${tool#*:}" deploytools.go)"
	tool_dir="$testbin/$name-$tool_version"
	if [ ! -x "$tool_dir/$name" ]; then
		echo "testdeps: building $name $tool_version into $tool_dir (a few minutes, once)" >&2
		"$here/hack/build-deploy-tools.sh" "$name" "$tool_version" "$tool_dir"
	fi
	echo "testdeps: $name $tool_version at $tool_dir/$name" >&2
done
