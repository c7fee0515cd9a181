#!/usr/bin/env bash
# Regenerates the code derived from the API types under api/:
#
#   api/v1/zz_generated.deepcopy.go   DeepCopy, DeepCopyInto, DeepCopyObject
#   deploy/crds/*.yaml                 the CustomResourceDefinitions (CRD_DIR overrides)
#
# controller-gen is pinned to v0.23.0, the release built against k8s.io/apimachinery v0.37
# (go.mod), and run with `go run pkg@version`: nothing to install, go.mod untouched.
# Run it after changing a type in api/, and commit the result; never edit generated files.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTROLLER_GEN_VERSION="${CONTROLLER_GEN_VERSION:-v0.23.0}"
controller_gen() {
	go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_GEN_VERSION}" "$@"
}

echo "generate: deepcopy (controller-gen ${CONTROLLER_GEN_VERSION})" >&2
controller_gen object paths=./api/...

echo "generate: CRDs into ${CRD_DIR:=deploy/crds}" >&2
controller_gen crd paths=./api/... output:crd:artifacts:config="$CRD_DIR"

# The Helm chart carries the same CRDs.
if [ "$CRD_DIR" = deploy/crds ]; then
	hack/sync-chart-crds.sh
fi
