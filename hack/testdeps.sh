#!/usr/bin/env bash
# Installs what tagflow's test suite needs on a fresh Debian machine, and does nothing when it
# is already there. Real servers for the integration tests come from Debian's packages:
#   docker-registry  the CNCF distribution registry (integration tests of scanner/)
#   git              git http-backend, the Git server of committer/ tests
#   gnupg, openssh-client  to verify signed commits with `git verify-commit`
# Binaries built from the Go module proxy are cached under TAGFLOW_TESTBIN
# (default $HOME/.cache/tagflow-testbin) and rebuilt only when their pinned version changes.
set -euo pipefail

packages=()
command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
command -v git >/dev/null 2>&1 || packages+=(git)
command -v gpg >/dev/null 2>&1 || packages+=(gnupg)
command -v ssh-keygen >/dev/null 2>&1 || packages+=(openssh-client)

if ((${#packages[@]} > 0)); then
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
	echo "testdeps: installing ${packages[*]}" >&2
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
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
dist_version="$(sed -n 's/^const DistributionV3Version = "\(v[0-9.]*\)"$/\1/p' "$here/internal/testbed/registry.go")"
if [ -z "$dist_version" ]; then
	echo "testdeps: cannot read DistributionV3Version from internal/testbed/registry.go" >&2
	exit 1
fi
dist_dir="$testbin/distribution-$dist_version"
if [ ! -x "$dist_dir/registry" ]; then
	echo "testdeps: building distribution $dist_version registry into $dist_dir (a few minutes, once)" >&2
	mkdir -p "$dist_dir"
	(cd "$(mktemp -d)" && GOFLAGS=-buildvcs=false GOBIN="$dist_dir" go install "github.com/distribution/distribution/v3/cmd/registry@$dist_version")
fi
echo "testdeps: distribution $dist_version at $dist_dir/registry" >&2
