package demo

import "strings"

// imagePath is the demo image's repository in the demo registry.
const imagePath = "demo/web"

// The tags in the registry at the start, and the one pushed later. 2.0.0-rc.1 is a
// pre-release and outside the policy's range, so the policy never picks it.
var (
	initialTags = []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1"}
	newerTag    = "1.3.0"
)

// The repository's files, as the first commit has them. IMAGE is replaced by the demo
// image's name. The Deployment's marker sets the whole reference; the kustomization's
// markers set the name and the tag separately.
const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: IMAGE:1.0.0 # {"$imagepolicy": "demo:web"}
          ports:
            - containerPort: 8080
`

const kustomizationYAML = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: web
    newName: IMAGE # {"$imagepolicy": "demo:web:name"}
    newTag: 1.0.0  # {"$imagepolicy": "demo:web:tag"}
`

// objectsYAML are the three objects, as `tagflow run -f DIR` reads them. IMAGE and
// GITURL are replaced by the demo's addresses.
const objectsYAML = `# The image to scan: demo/web in the demo registry (plain HTTP, as loopback allows).
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata:
  name: web
  namespace: demo
spec:
  image: IMAGE
  interval: 5m
---
# Which tag is the latest: the highest 1.x release (2.0.0-rc.1 is skipped).
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: demo
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: "^1.0"
---
# Where the markers live and how to commit: main of the demo Git remote, files under deploy/.
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata:
  name: deploy
  namespace: demo
spec:
  interval: 1h
  git:
    repository:
      url: GITURL
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: tagflow
        email: tagflow@example.com
      messageTemplate: |
        Update images in {{ .AutomationObject.Name }}

        {{ range .Changed.Changes -}}
        - {{ .OldValue }} -> {{ .NewValue }} ({{ .Setter }})
        {{ end -}}
    push:
      branch: main
  update:
    strategy: Setters
    path: ./deploy
`

// fill replaces the placeholders of a template.
func fill(tmpl, image, gitURL string) string {
	return strings.NewReplacer("IMAGE", image, "GITURL", gitURL).Replace(tmpl)
}
