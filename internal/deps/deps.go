// Package deps pins the module's dependencies while the packages that use them are written.
// It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/Masterminds/sprig/v3"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/aymanbagabas/go-udiff"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/go-git/go-git/v5/plumbing/transport/http"
	_ "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/name"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/empty"
	_ "github.com/google/go-containerregistry/pkg/v1/mutate"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/remote/transport"
	_ "github.com/hiddeco/sshsig"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/time/rate"
	_ "sigs.k8s.io/kustomize/kyaml/kio"
	_ "sigs.k8s.io/kustomize/kyaml/yaml"
)
