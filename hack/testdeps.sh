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
