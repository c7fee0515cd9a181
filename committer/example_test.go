package committer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/setter"
)

func ExampleRedactURL() {
	fmt.Println(committer.RedactURL("https://bot:ghp_secret@github.com/acme/fleet.git"))
	fmt.Println(committer.RedactURL("git@github.com:acme/fleet.git"))
	// Output:
	// https://REDACTED@github.com/acme/fleet.git
	// git@github.com:acme/fleet.git
}

func ExampleRenderMessage() {
	msg, err := committer.RenderMessage(
		`{{ .AutomationObject }}: {{ range .Changed }}{{ . }} {{ end }}({{ .Values.ticket | upper }})`,
		committer.TemplateData{
			AutomationObject: committer.AutomationObject{Namespace: "flux-system", Name: "podinfo"},
			Changed:          []string{"podinfo:6.5.0"},
			Values:           map[string]string{"ticket": "ops-42"},
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg)
	// Output: flux-system/podinfo: podinfo:6.5.0 (OPS-42)
}

// A run that sets one line in the update path and pushes the commit to a branch for review.
// The Update callback is where tagflow plugs in its setter.
func ExampleCommitter_Run() {
	c, err := committer.New(committer.Options{Dir: filepath.Join(os.TempDir(), "tagflow", "git")})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Run(context.Background(), committer.Request{
		Automation: committer.AutomationObject{Namespace: "flux-system", Name: "podinfo"},
		URL:        "https://github.com/acme/fleet.git",
		Auth:       committer.Auth{Password: os.Getenv("GITHUB_TOKEN")},
		Branch:     "main",
		PushBranch: "tagflow/podinfo",
		Path:       "clusters/prod",
		Update: func(ctx context.Context, dir string) (*setter.Result, error) {
			return setter.Set(ctx, dir, []setter.Value{{Policy: "flux-system:podinfo", Image: "ghcr.io/stefanprodan/podinfo", Tag: "6.5.0"}}, setter.Options{})
		},
		Author:          committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
		MessageTemplate: "{{ .AutomationObject.Name }}: update images",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Pushed, res.Branch, res.Commit)
}
