package gen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Config sizes the tree.
type Config struct {
	Files    int   // number of YAML files
	Bytes    int64 // approximate total size
	Markers  int   // number of markers
	Policies int   // number of policies the markers name
	Seed     uint64
}

// Default is the benchmark tree of the setter issue: 10,000 files, about 50 MB, 2,000
// markers over 200 policies.
func Default() Config {
	return Config{Files: 10_000, Bytes: 50 << 20, Markers: 2_000, Policies: 200, Seed: 1}
}

// Policy is one generated image policy with its two states.
type Policy struct {
	Namespace, Name string
	Image           [2]string
	Tag             [2]string
	Digest          [2]string // empty for policies that do not reflect digests
}

// ID is "namespace:name".
func (p Policy) ID() string { return p.Namespace + ":" + p.Name }

// Ref is the whole reference of state s (0 or 1).
func (p Policy) Ref(s int) string {
	r := p.Image[s] + ":" + p.Tag[s]
	if p.Digest[s] != "" {
		r += "@" + p.Digest[s]
	}
	return r
}

// Tree describes a generated tree.
type Tree struct {
	Root        string
	Files       int
	Bytes       int64
	Markers     int
	MarkedFiles int
	MarkedBytes int64 // total size of the files holding markers
	Policies    []Policy
}

type kind int

const (
	kDeployment kind = iota
	kValues
	kKustomization
	kMultiDoc
	kConfigMap
	kCRD
	kService
	numKinds
)

// shares of files and relative sizes per kind, and the chance a file of the kind is marked.
var kinds = [numKinds]struct {
	name      string
	share     float64
	size      float64
	markable  bool
	markShare float64
}{
	kDeployment:    {"deployment", 0.28, 0.8, true, 0.45},
	kValues:        {"values", 0.10, 1.5, true, 0.35},
	kKustomization: {"kustomization", 0.18, 0.15, true, 0.20},
	kMultiDoc:      {"all", 0.14, 1.5, true, 0.35},
	kConfigMap:     {"configmap", 0.16, 1.0, false, 0},
	kCRD:           {"crd", 0.04, 8.0, false, 0},
	kService:       {"service", 0.10, 0.2, false, 0},
}

type file struct {
	path    string
	kind    kind
	size    int
	markers int
}

// Generate writes a tree under dir, which must not exist or be empty.
func Generate(dir string, cfg Config) (*Tree, error) {
	if cfg.Files <= 0 || cfg.Policies <= 0 || cfg.Markers < 0 {
		return nil, fmt.Errorf("gen: bad config %+v", cfg)
	}
	g := &generator{r: rand.New(rand.NewPCG(cfg.Seed, 0x7a6)), cfg: cfg, pols: Policies(cfg)}
	files := g.plan()
	t := &Tree{Root: dir, Files: len(files), Policies: g.pols}
	for _, f := range files {
		content := g.render(f)
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return nil, err
		}
		t.Bytes += int64(len(content))
		if f.markers > 0 {
			t.MarkedFiles++
			t.MarkedBytes += int64(len(content))
		}
	}
	t.Markers = g.written
	if g.written != cfg.Markers {
		return nil, fmt.Errorf("gen: wrote %d markers, want %d", g.written, cfg.Markers)
	}
	return t, nil
}

type generator struct {
	r       *rand.Rand
	cfg     Config
	pols    []Policy
	written int
}

// Policies returns the policies of the tree Generate writes for cfg (they depend only on
// cfg.Policies and cfg.Seed).
func Policies(cfg Config) []Policy {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x90c))
	var pols []Policy
	teams := []string{"payments", "search", "checkout", "identity", "platform", "data", "media", "ops"}
	for i := 0; i < cfg.Policies; i++ {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%03d", i)
		p := Policy{
			Namespace: team,
			Name:      name,
			Image:     [2]string{fmt.Sprintf("ghcr.io/acme/%s/%s", team, name), fmt.Sprintf("registry.acme.example:5000/%s/%s", team, name)},
			Tag:       [2]string{fmt.Sprintf("1.%d.%d", i%17, i%7), fmt.Sprintf("2.%d.%d", i%13, i%5)},
		}
		if i%4 == 0 {
			p.Tag[0] = "v" + p.Tag[0]
		}
		if i%10 == 0 {
			p.Digest = [2]string{"sha256:" + hex64(r), "sha256:" + hex64(r)}
		}
		pols = append(pols, p)
	}
	return pols
}

func hex64(r *rand.Rand) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 64)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// plan decides every file's path, kind, target size and number of markers.
func (g *generator) plan() []file {
	var files []file
	var weight float64
	counts := [numKinds]int{}
	for k := range numKinds {
		counts[k] = int(float64(g.cfg.Files) * kinds[k].share)
	}
	counts[kConfigMap] += g.cfg.Files - sum(counts[:])
	n := 0
	for k := range numKinds {
		for j := 0; j < counts[k]; j++ {
			app := n / 8 // about eight files per application directory
			team := app % 37
			dir := fmt.Sprintf("clusters/%s/team-%02d/app-%04d", []string{"prod", "staging", "dev"}[app%3], team, app)
			name := fmt.Sprintf("%s-%d.yaml", kinds[k].name, j)
			switch kind(k) {
			case kKustomization:
				name = "kustomization.yaml"
				if j%10 == 0 {
					name = "Kustomization"
				}
				dir += fmt.Sprintf("/overlay-%d", j)
			case kValues:
				name = fmt.Sprintf("values-%d.yml", j)
			}
			w := kinds[k].size * (0.5 + g.r.Float64()) // ±50% around the kind's size
			files = append(files, file{path: dir + "/" + name, kind: kind(k), size: int(w * 1e6)})
			weight += w
			n++
		}
	}
	// Scale sizes to the byte budget.
	for i := range files {
		files[i].size = int(float64(files[i].size) / 1e6 / weight * float64(g.cfg.Bytes))
	}
	// Spread the markers: choose marked files among the markable kinds, then deal markers
	// one to three at a time until the budget is spent.
	var markable []int
	for i, f := range files {
		if kinds[f.kind].markable && g.r.Float64() < kinds[f.kind].markShare {
			markable = append(markable, i)
		}
	}
	g.r.Shuffle(len(markable), func(i, j int) { markable[i], markable[j] = markable[j], markable[i] })
	left := g.cfg.Markers
	for left > 0 && len(markable) > 0 {
		for _, i := range markable {
			if left == 0 {
				break
			}
			k := min(left, 1+g.r.IntN(2))
			files[i].markers += k
			left -= k
		}
	}
	return files
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// render produces a file's content: its markers, then filler up to its target size.
func (g *generator) render(f file) []byte {
	var b strings.Builder
	b.Grow(f.size + 4096)
	m := f.markers
	switch f.kind {
	case kDeployment:
		g.deployment(&b, f, &m)
	case kValues:
		g.values(&b, f, &m)
	case kKustomization:
		g.kustomization(&b, f, &m)
	case kMultiDoc:
		g.multiDoc(&b, f, &m)
	case kConfigMap:
		g.configMap(&b, f.path, f.size)
	case kCRD:
		g.crd(&b, f.size)
	case kService:
		g.service(&b, f.path, f.size)
	}
	return []byte(b.String())
}

func (g *generator) pol() Policy { return g.pols[g.r.IntN(len(g.pols))] }

func (g *generator) mark(b *strings.Builder, m *int, setter string) bool {
	if *m == 0 {
		return false
	}
	*m--
	g.written++
	fmt.Fprintf(b, " # {\"$imagepolicy\": \"%s\"}", setter)
	return true
}

func baseName(path string) string {
	parts := strings.Split(path, "/")
	return parts[len(parts)-2]
}

func (g *generator) deployment(b *strings.Builder, f file, m *int) {
	g.deploymentDoc(b, baseName(f.path), f.size, m)
}

// deploymentDoc writes a Deployment whose containers take the markers (all of them when
// size is large, as the filler goes into env vars after).
func (g *generator) deploymentDoc(b *strings.Builder, name string, size int, m *int) {
	start := b.Len()
	ns := []string{"prod", "staging", "dev"}[g.r.IntN(3)]
	fmt.Fprintf(b, "# Managed by GitOps; edits go through pull requests.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    app.kubernetes.io/name: %s\n    app.kubernetes.io/part-of: shop\n  annotations:\n    reloader.stakater.com/auto: \"true\"\nspec:\n  replicas: %d\n  revisionHistoryLimit: 5\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: %s\n    spec:\n      serviceAccountName: %s\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile: {type: RuntimeDefault}\n      containers:\n",
		name, ns, name, 1+g.r.IntN(5), name, name, name)
	containers := max(1, *m)
	header := b.Len() - start
	for c := 0; c < containers; c++ {
		p := g.pol()
		fmt.Fprintf(b, "        - name: %s-%d\n", name, c)
		if *m > 0 && g.r.IntN(4) == 0 {
			// Marker as the head comment of the key.
			fmt.Fprintf(b, "          # {\"$imagepolicy\": \"%s\"}\n          image: %s\n", p.ID(), p.Ref(0))
			*m--
			g.written++
		} else {
			fmt.Fprintf(b, "          image: %s", p.Ref(0))
			g.mark(b, m, p.ID())
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "          imagePullPolicy: IfNotPresent\n          ports:\n            - name: http\n              containerPort: %d\n              protocol: TCP\n          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {memory: 512Mi}\n          readinessProbe:\n            httpGet: {path: /healthz, port: http}\n            periodSeconds: 10\n          env:\n", 8080+c)
		g.envVars(b, start+header+(size-header)*(c+1)/containers, 12)
	}
}

func (g *generator) envVars(b *strings.Builder, until int, indent int) {
	pad := strings.Repeat(" ", indent)
	for i := 0; b.Len() < until; i++ {
		switch g.r.IntN(4) {
		case 0:
			fmt.Fprintf(b, "%s- name: FEATURE_FLAG_%d\n%s  value: \"%t\"\n", pad, i, pad, g.r.IntN(2) == 0)
		case 1:
			fmt.Fprintf(b, "%s- name: SECRET_%d\n%s  valueFrom:\n%s    secretKeyRef: {name: app-secrets, key: key-%d}\n", pad, i, pad, pad, i)
		case 2:
			fmt.Fprintf(b, "%s# tuning, see runbook section %d\n%s- name: POOL_SIZE_%d\n%s  value: '%d'\n", pad, i, pad, i, pad, g.r.IntN(500))
		default:
			fmt.Fprintf(b, "%s- name: ENDPOINT_%d\n%s  value: https://svc-%d.internal.acme.example:8443/api/v%d\n", pad, i, pad, i, g.r.IntN(3))
		}
	}
}

func (g *generator) values(b *strings.Builder, f file, m *int) {
	fmt.Fprintf(b, "# Default values for %s.\n# This is a YAML-formatted file.\n\nreplicaCount: %d\n\n", baseName(f.path), 1+g.r.IntN(3))
	for s := 0; *m > 0 || s == 0; s++ {
		p := g.pol()
		fmt.Fprintf(b, "component%d:\n  image:\n", s)
		if g.r.IntN(2) == 0 {
			fmt.Fprintf(b, "    repository: %s", p.Image[0])
			g.mark(b, m, p.ID()+":name")
			fmt.Fprintf(b, "\n    tag: \"%s\"", p.Tag[0])
			g.mark(b, m, p.ID()+":tag")
			b.WriteString("\n")
		} else {
			if *m > 0 {
				fmt.Fprintf(b, "    # {\"$imagepolicy\": \"%s:name\"}\n", p.ID())
				*m--
				g.written++
			}
			fmt.Fprintf(b, "    repository: %s\n", p.Image[0])
			if *m > 0 {
				fmt.Fprintf(b, "    # {\"$imagepolicy\": \"%s:tag\"}\n", p.ID())
				*m--
				g.written++
			}
			fmt.Fprintf(b, "    tag: %s\n", p.Tag[0])
		}
		b.WriteString("    pullPolicy: IfNotPresent\n  podAnnotations: {}\n  resources:\n    limits:\n      cpu: 500m\n      memory: 256Mi\n\n")
	}
	for i := 0; b.Len() < f.size; i++ {
		fmt.Fprintf(b, "config%d:\n  enabled: %t\n  # Settings for subsystem %d.\n  settings:\n    timeout: %ds\n    retries: %d\n    hosts:\n      - host-%d.acme.example\n      - host-%d.acme.example\n    labels: {team: t%d, tier: backend}\n    description: >\n      Subsystem %d handles requests for the shop and is tuned\n      for throughput rather than latency.\n", i, i%2 == 0, i, 5+i%30, i%5, i, i+1, i%9, i)
	}
}

func (g *generator) kustomization(b *strings.Builder, f file, m *int) {
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n  - ../../base\n  - configmap-0.yaml\ncommonLabels:\n  app.kubernetes.io/managed-by: kustomize\n")
	if *m > 0 {
		b.WriteString("images:\n")
	}
	for *m > 0 {
		p := g.pol()
		fmt.Fprintf(b, "  - name: %s\n    newName: %s", p.Name, p.Image[0])
		g.mark(b, m, p.ID()+":name")
		fmt.Fprintf(b, "\n    newTag: %s", p.Tag[0])
		g.mark(b, m, p.ID()+":tag")
		b.WriteString("\n")
		if p.Digest[0] != "" && *m > 0 {
			fmt.Fprintf(b, "    digest: %s", p.Digest[0])
			g.mark(b, m, p.ID()+":digest")
			b.WriteString("\n")
		}
	}
	b.WriteString("patches:\n  - path: replicas.yaml\n    target: {kind: Deployment}\n")
	for i := 0; b.Len() < f.size; i++ {
		fmt.Fprintf(b, "  - patch: |-\n      - op: add\n        path: /metadata/annotations/note-%d\n        value: patched\n    target: {kind: Deployment, name: app-%d}\n", i, i)
	}
}

func (g *generator) multiDoc(b *strings.Builder, f file, m *int) {
	name := baseName(f.path)
	start := b.Len()
	b.WriteString("---\n")
	g.deploymentDoc(b, name, f.size/2, m)
	fmt.Fprintf(b, "---\n# The service in front of it.\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector:\n    app.kubernetes.io/name: %s\n  ports:\n    - {name: http, port: 80, targetPort: http}\n---\n", name, name)
	g.configMap(b, f.path, f.size-(b.Len()-start))
	b.WriteString("...\n")
}

func (g *generator) configMap(b *strings.Builder, path string, size int) {
	start := b.Len()
	fmt.Fprintf(b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\n  labels: {app: %s}\ndata:\n", baseName(path), baseName(path))
	for i := 0; b.Len()-start < size; i++ {
		if i%5 == 0 {
			fmt.Fprintf(b, "  application-%d.properties: |\n    server.port=%d\n    logging.level.root=INFO\n    cache.ttl=%ds\n    # image: not a marker, just text\n", i, 8000+i, i*10)
		} else {
			fmt.Fprintf(b, "  KEY_%d: \"value number %d with some padding text\"\n", i, g.r.IntN(1_000_000))
		}
	}
}

func (g *generator) crd(b *strings.Builder, size int) {
	start := b.Len()
	b.WriteString("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.acme.example\nspec:\n  group: acme.example\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n")
	for i := 0; b.Len()-start < size; i++ {
		fmt.Fprintf(b, "            field%d:\n              description: Field %d configures one aspect of the widget; it is\n                validated by the admission webhook.\n              type: object\n              properties:\n                enabled: {type: boolean}\n                count: {type: integer, minimum: 0, maximum: %d}\n                mode:\n                  type: string\n                  enum: [fast, safe, balanced]\n", i, i, 100+i)
	}
}

func (g *generator) service(b *strings.Builder, path string, size int) {
	start := b.Len()
	fmt.Fprintf(b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  annotations:\n", baseName(path))
	for i := 0; b.Len()-start < size; i++ {
		fmt.Fprintf(b, "    acme.example/note-%d: \"generated annotation %d\"\n", i, i)
	}
	b.WriteString("spec:\n  type: ClusterIP\n  ports:\n    - port: 80\n")
}

// WriteManifest writes a summary of the tree: one "policy image-A tag-A image-B tag-B" line
// per policy, for use outside Go.
func (t *Tree) WriteManifest(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, p := range t.Policies {
		fmt.Fprintf(w, "%s %s %s\n", p.ID(), p.Ref(0), p.Ref(1))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
