package setter_test

import (
	"context"
	"fmt"
	"os"
	"text/template"

	"github.com/tagflow/tagflow/setter"
)

func ExampleSetter_Rewrite() {
	s, err := setter.New(setter.Value{Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"})
	if err != nil {
		panic(err)
	}
	src := []byte(`# The web tier.
image:
  repository: ghcr.io/acme/web   # {"$imagepolicy": "apps:web:name"}
  tag: "1.3.0"                   # {"$imagepolicy": "apps:web:tag"}
`)
	out, changes, warnings := s.Rewrite("values.yaml", src)
	fmt.Print(string(out))
	for _, c := range changes {
		fmt.Printf("%s:%d %s -> %s\n", c.File, c.Line, c.OldValue, c.NewValue)
	}
	fmt.Println(len(warnings), "warnings")
	// Output:
	// # The web tier.
	// image:
	//   repository: ghcr.io/acme/web   # {"$imagepolicy": "apps:web:name"}
	//   tag: "1.4.2"                   # {"$imagepolicy": "apps:web:tag"}
	// values.yaml:4 1.3.0 -> 1.4.2
	// 0 warnings
}

// A Flux commit message template runs unchanged against a Result.
func ExampleResult_Changes() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(dir+"/deploy.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/acme/web:1.3.0 # {"$imagepolicy": "apps:web"}
`), 0o644)
	res, err := setter.Set(context.Background(), dir,
		[]setter.Value{{Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"}}, setter.Options{DryRun: true})
	if err != nil {
		panic(err)
	}
	tmpl := template.Must(template.New("msg").Parse(
		"Update images\n{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}" +
			"{{ range $obj, $changes := .Changed.Objects }}{{ $obj.Kind }}/{{ $obj.Name }}: {{ len $changes }} change(s)\n{{ end }}"))
	tmpl.Execute(os.Stdout, map[string]any{"Changed": res})
	// Output:
	// Update images
	// - ghcr.io/acme/web:1.3.0 -> ghcr.io/acme/web:1.4.2
	// Deployment/web: 1 change(s)
}

func ExampleParseRef() {
	image, tag, digest, err := setter.ParseRef("localhost:5000/acme/api:2.0.0")
	fmt.Printf("%q %q %q %v\n", image, tag, digest, err)
	// Output: "localhost:5000/acme/api" "2.0.0" "" <nil>
}
