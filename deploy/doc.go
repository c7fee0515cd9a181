// Package deploy holds no Go code: its directory holds what deploys tagflow's Kubernetes
// controller, and its tests check it. The kustomize base (kustomization.yaml: the CRDs
// generated into crds/, a Namespace, a ServiceAccount, least-privilege RBAC, the Deployment
// and its Service), optional components (ingress/: an Ingress to the webhooks; flux/: Flux's
// image kinds; status-page/: the read-only status page and its Ingress), and a Helm chart
// (chart/) that renders the same objects. The tests render both with kubectl and helm built
// from the Go module proxy (hack/build-deploy-tools.sh), compare them, check the
// Deployment's hardening and the RBAC rules, build the image's binary exactly as the
// Dockerfile does, and apply the rendered objects with a server-side dry run to a real
// kube-apiserver (envtest).
package deploy
