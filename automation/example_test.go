package automation_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// One pass over a repository and two policies, against an in-process registry. An
// automation would be configured the same way, with its Git remote; see Automation.
func ExampleEngine_RunOnce() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/acme/web"
	repo, err := name.NewRepository(image, name.Insecure)
	if err != nil {
		log.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), repo, []string{"1.0.0", "1.1.0", "2.0.0"}); err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "tagflow-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	cm, err := committer.New(committer.Options{Dir: filepath.Join(dir, "git")})
	if err != nil {
		log.Fatal(err)
	}
	e, err := automation.New(automation.Options{Store: db, Scanner: scanner.New(), Committer: cm})
	if err != nil {
		log.Fatal(err)
	}

	web := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "web"}
	err = e.Apply(automation.Config{
		Repositories: []automation.Repository{{ID: web, Scan: scanner.Repository{Image: image}, Schedule: "@every 5m"}},
		Policies: []automation.Policy{
			{ID: automation.ObjectID{Kind: automation.KindPolicy, Namespace: "apps", Name: "web-v1"}, Repository: web, Spec: policy.Spec{SemVer: "^1.0"}},
			{ID: automation.ObjectID{Kind: automation.KindPolicy, Namespace: "apps", Name: "web-v3"}, Repository: web, Spec: policy.Spec{SemVer: "^3.0"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	report, err := e.RunOnce(context.Background())
	for _, o := range report.Objects {
		fmt.Println(o.ID, o.Ready, o.Reason)
	}
	fmt.Println("failed:", err != nil)

	statuses, err := e.Status(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range statuses {
		if st.LatestRef != "" {
			fmt.Println(st.ID.Name, "→", strings.TrimPrefix(st.LatestRef, image))
		}
	}
	// Output:
	// ImageRepository/apps/web true Succeeded
	// ImagePolicy/apps/web-v1 true Succeeded
	// ImagePolicy/apps/web-v3 false NoMatch
	// failed: true
	// web-v1 → :1.1.0
}
