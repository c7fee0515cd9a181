//go:build tools

package tools

import (
	_ "code.gitea.io/sdk/gitea"
	_ "github.com/bradleyfalzon/ghinstallation/v2"
	_ "github.com/google/go-github/v92/github"
	_ "gitlab.com/gitlab-org/api/client-go"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
