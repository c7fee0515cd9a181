package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// summary describes the problems of a load as short strings, with file names relative to
// root, so tests compare them with cmp.
func summary(t *testing.T, root string, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	rel := func(f string) string {
		if r, e := filepath.Rel(root, f); e == nil {
			return filepath.ToSlash(r)
		}
		return f
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var de *DocumentError
		var dup *DuplicateError
		var ve *v1.ValidationError
		switch {
		case errors.As(e, &dup):
			out = append(out, fmt.Sprintf("duplicate %s %s:%d %s:%d", dup.Key, rel(dup.First.File), dup.First.Line, rel(dup.Second.File), dup.Second.Line))
		case errors.As(e, &de):
			what := "other"
			switch {
			case errors.Is(e, ErrSyntax):
				what = "syntax"
			case errors.Is(e, ErrUnknownField):
				what = "unknown field"
			case errors.Is(e, ErrUnsupported):
				what = "unsupported"
			case errors.Is(e, ErrDecode):
				what = "decode"
			case errors.As(e, &ve):
				what = "invalid " + strings.Join(ve.Fields(), ",")
			}
			out = append(out, fmt.Sprintf("%s:%d %s", rel(de.File), de.Line, what))
		default:
			out = append(out, "unexpected "+e.Error())
		}
	}
	return out
}

func keys(objs *Objects) []string {
	var out []string
	for k, o := range objs.Origins {
		out = append(out, fmt.Sprintf("%s from %s", k, o.APIVersion))
	}
	slices.Sort(out)
	return out
}

var mixedKeys = []string{
	"GitRepository shop/flux-system from source.toolkit.fluxcd.io/v1",
	"GitRepository shop/legacy from source.toolkit.fluxcd.io/v1beta2",
	"ImagePolicy shop/api from image.toolkit.fluxcd.io/v1",
	"ImagePolicy shop/web from image.tagflow.dev/v1",
	"ImagePolicy shop/worker from image.toolkit.fluxcd.io/v1beta2",
	"ImageRepository shop/api from image.toolkit.fluxcd.io/v1",
	"ImageRepository shop/fine from image.tagflow.dev/v1",
	"ImageRepository shop/web from image.tagflow.dev/v1",
	"ImageRepository shop/worker from image.toolkit.fluxcd.io/v1beta2",
	"ImageUpdateAutomation shop/flux-auto from image.toolkit.fluxcd.io/v1beta2",
	"ImageUpdateAutomation shop/shop from image.tagflow.dev/v1",
}

var mixedProblems = []string{
	"broken.yaml:9 syntax",
	"broken.yaml:18 unknown field",
	"broken.yaml:30 invalid spec.policy.semver.range,spec.filterTags.pattern",
	"broken.yaml:44 unsupported",
	"duplicate ImagePolicy shop/dup dup/b.yml:3 dup-a.yaml:1",
}

func TestDirMixed(t *testing.T) {
	root := filepath.Join("..", "testdata", "mixed")
	objs, err := Dir(context.Background(), root, Options{Namespace: "shop"})
	if diff := cmp.Diff(mixedProblems, summary(t, root, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mixedKeys, keys(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if got, want := len(objs.ImageRepositories)+len(objs.ImagePolicies)+len(objs.ImageUpdateAutomations)+len(objs.GitRepositories), len(objs.Origins); got != want {
		t.Errorf("%d objects but %d origins", got, want)
	}
	if err != nil && !strings.Contains(err.Error(), `broken.yaml:18: ImagePolicy shop/typo: unknown field "spec.policy.semverr"`) {
		t.Errorf("error does not name the unknown field with its path:\n%v", err)
	}
	if err != nil && !strings.Contains(err.Error(), `broken.yaml:30: ImagePolicy shop/bad: spec.policy.semver.range: Invalid value: "^^1"`) {
		t.Errorf("error does not show the validation problem:\n%v", err)
	}

	// Flux v1beta2, converted: tagflow's apiVersion, the loader's namespace, defaults, and no
	// status (v1beta2's latestImage has no place in v1).
	wantWorker := v1.ImagePolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "ImagePolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "shop"},
		Spec: v1.ImagePolicySpec{
			ImageRepositoryRef:     v1.NamespacedObjectReference{Name: "worker", Namespace: "shop"},
			Policy:                 v1.ImagePolicyChoice{Alphabetical: &v1.AlphabeticalPolicy{Order: "asc"}},
			DigestReflectionPolicy: v1.ReflectNever,
		},
	}
	if diff := cmp.Diff(wantWorker, find(t, objs.ImagePolicies, "worker")); diff != "" {
		t.Errorf("ImagePolicy worker (-want +got):\n%s", diff)
	}

	// tagflow's own kind with every extension decoded.
	wantShop := v1.ImageUpdateAutomation{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "ImageUpdateAutomation"},
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop"},
		Spec: v1.ImageUpdateAutomationSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			GitSpec: &v1.GitSpec{
				Repository: &v1.GitRepositorySource{URL: "https://git.example.com/shop/deploy.git", SecretRef: &v1.LocalObjectReference{Name: "git-credentials"}},
				Checkout:   &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
				Commit: v1.CommitSpec{
					Author:     v1.CommitUser{Name: "tagflow", Email: "tagflow@example.com"},
					SigningKey: &v1.SigningKey{SecretRef: v1.LocalObjectReference{Name: "signing-key"}, Type: v1.SigningKeyTypeGPG},
				},
				Push: &v1.PushSpec{
					Branch: "tagflow/{{ .Policy }}",
					PullRequest: &v1.PullRequestSpec{
						Provider:  v1.ForgeGitea,
						Title:     "Update {{ .Policy }}",
						Labels:    []string{"dependencies"},
						Reviewers: []string{"alice"},
						AutoMerge: true,
					},
				},
			},
			Update:  &v1.UpdateStrategy{Strategy: v1.UpdateStrategySetters, Path: "./"},
			Windows: []v1.UpdateWindow{{Days: []string{"Mon-Fri"}, Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}},
		},
	}
	if diff := cmp.Diff(wantShop, find(t, objs.ImageUpdateAutomations, "shop")); diff != "" {
		t.Errorf("ImageUpdateAutomation shop (-want +got):\n%s", diff)
	}

	webRepo := find(t, objs.ImageRepositories, "web")
	if webRepo.Spec.Interval != nil || webRepo.Spec.Schedule != "CRON_TZ=Europe/Berlin 0 9-17 * * 1-5" || webRepo.Spec.PageSize != 500 || webRepo.Spec.MaxTags != 5000 {
		t.Errorf("ImageRepository web spec = %+v", webRepo.Spec)
	}
	if fine := find(t, objs.ImageRepositories, "fine"); fine.Spec.Interval == nil || fine.Spec.Interval.Duration != v1.DefaultScanInterval {
		t.Errorf("ImageRepository fine was not defaulted: %+v", fine.Spec)
	}
	legacy := find(t, objs.GitRepositories, "legacy")
	if legacy.Spec.URL != "https://github.com/example/legacy" || legacy.Spec.Reference.Branch != "master" {
		t.Errorf("GitRepository legacy = %+v", legacy.Spec)
	}
}

// TestDirSkips: .git directories and symbolic links are not read (each would add a
// duplicate), and a symbolic link given as the directory itself is followed.
func TestDirSkips(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "config")
	if err := os.CopyFS(root, os.DirFS(filepath.Join("..", "testdata", "mixed"))); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "tagflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "apps", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ path string }{{".git/tagflow.yaml"}, {"apps/.git/tagflow.yml"}} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, w.path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, w.path), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("tagflow.yaml", filepath.Join(root, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "dup"), filepath.Join(root, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "link-to-config")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, link} {
		objs, err := Dir(context.Background(), dir, Options{Namespace: "shop"})
		if diff := cmp.Diff(mixedProblems, summary(t, dir, err)); diff != "" {
			t.Errorf("%s: problems (-want +got):\n%s", dir, diff)
		}
		if diff := cmp.Diff(mixedKeys, keys(objs)); diff != "" {
			t.Errorf("%s: objects (-want +got):\n%s", dir, diff)
		}
	}
}

func TestDirSingleFileAndErrors(t *testing.T) {
	file := filepath.Join("..", "testdata", "mixed", "flux-v1.yaml")
	objs, err := Dir(context.Background(), file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ImagePolicy shop/api from image.toolkit.fluxcd.io/v1", "ImageRepository shop/api from image.toolkit.fluxcd.io/v1"}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if o := objs.Origins[Key{Kind: "ImagePolicy", Namespace: "shop", Name: "api"}]; o.File != file || o.Line != 12 {
		t.Errorf("origin = %+v, want %s:12", o, file)
	}

	if _, err := Dir(context.Background(), filepath.Join(t.TempDir(), "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: error %v, want os.ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dir(ctx, filepath.Join("..", "testdata", "mixed"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// TestFluxGuide loads a set of manifests like those of Flux's "automate image updates"
// guide, unchanged.
func TestFluxGuide(t *testing.T) {
	objs, err := Dir(context.Background(), filepath.Join("..", "testdata", "flux-guide"), Options{})
	if err != nil {
		t.Fatalf("Flux's manifests did not load: %v", err)
	}
	want := []string{
		"GitRepository flux-system/flux-system from source.toolkit.fluxcd.io/v1",
		"ImagePolicy flux-system/podinfo from image.toolkit.fluxcd.io/v1",
		"ImageRepository flux-system/podinfo from image.toolkit.fluxcd.io/v1",
		"ImageUpdateAutomation flux-system/flux-system from image.toolkit.fluxcd.io/v1",
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	auto := objs.ImageUpdateAutomations[0]
	if diff := cmp.Diff(&v1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "flux-system", Namespace: "flux-system"}, auto.Spec.SourceRef); diff != "" {
		t.Errorf("sourceRef (-want +got):\n%s", diff)
	}
	if !strings.Contains(auto.Spec.GitSpec.Commit.MessageTemplate, "range $resource, $changes := .Changed.Objects") {
		t.Errorf("messageTemplate = %q", auto.Spec.GitSpec.Commit.MessageTemplate)
	}
	if got := auto.Spec.Update.Path; got != "./clusters/my-cluster" {
		t.Errorf("update.path = %q", got)
	}
	git := objs.GitRepositories[0]
	wantGit := v1.GitRepositorySpec{
		URL:       "ssh://git@github.com/example-org/fleet-infra",
		SecretRef: &v1.LocalObjectReference{Name: "flux-system"},
		Interval:  metav1.Duration{Duration: time.Minute},
		Timeout:   &metav1.Duration{Duration: time.Minute},
		Reference: &v1.GitRepositoryRef{Branch: "main"},
	}
	if diff := cmp.Diff(wantGit, git.Spec); diff != "" {
		t.Errorf("GitRepository spec (-want +got):\n%s", diff)
	}
	if got := objs.ImagePolicies[0].Spec.Policy.SemVer.Range; got != "5.0.x" {
		t.Errorf("semver range = %q", got)
	}
}

func TestBytes(t *testing.T) {
	const repo = "apiVersion: image.tagflow.dev/v1\nkind: ImageRepository\nmetadata:\n  name: web\nspec:\n  image: nginx\n"
	tests := []struct {
		name     string
		opts     Options
		in       string
		keys     []string
		problems []string
	}{
		{name: "empty", in: ""},
		{name: "comments and separators only", in: "# nothing\n---\n---\n# more\n...\n"},
		{name: "default namespace", in: repo, keys: []string{"ImageRepository default/web from image.tagflow.dev/v1"}},
		{name: "namespace option", opts: Options{Namespace: "ops"}, in: repo, keys: []string{"ImageRepository ops/web from image.tagflow.dev/v1"}},
		{name: "CRLF and byte order mark", in: "\ufeff" + strings.ReplaceAll("---\n"+repo+"---\r\n", "\n", "\r\n"),
			keys: []string{"ImageRepository default/web from image.tagflow.dev/v1"}},
		{name: "lines after leading comments", in: "# header\n\n---\n# about web\n" + repo + "--- # next\n" + strings.Replace(repo, "name: web", "name: Bad_Name", 1),
			keys: []string{"ImageRepository default/web from image.tagflow.dev/v1"}, problems: []string{"f.yaml:12 invalid metadata.name"}},
		{name: "duplicate in one file", in: repo + "---\n" + repo, problems: []string{"duplicate ImageRepository default/web f.yaml:1 f.yaml:8"}},
		{name: "three copies", in: repo + "---\n" + repo + "---\n" + repo,
			problems: []string{"duplicate ImageRepository default/web f.yaml:1 f.yaml:8", "duplicate ImageRepository default/web f.yaml:1 f.yaml:15"}},
		{name: "same name, other kind or namespace", in: repo + "---\n" + strings.Replace(repo, "name: web", "name: web\n  namespace: ops", 1) +
			"---\napiVersion: image.tagflow.dev/v1\nkind: ImagePolicy\nmetadata: {name: web}\nspec: {imageRepositoryRef: {name: web}, policy: {newestBuild: {}}}\n",
			keys: []string{"ImagePolicy default/web from image.tagflow.dev/v1", "ImageRepository default/web from image.tagflow.dev/v1", "ImageRepository ops/web from image.tagflow.dev/v1"}},
		{name: "duplicate YAML key", in: repo + "spec:\n  image: other\n", problems: []string{"f.yaml:1 syntax"}},
		{name: "field names are case-sensitive", in: strings.Replace(repo, "spec:", "Spec:", 1), problems: []string{"f.yaml:1 unknown field"}},
		{name: "status is ignored", in: repo + "status:\n  whatever: 1\n", keys: []string{"ImageRepository default/web from image.tagflow.dev/v1"}},
		{name: "wrong type", in: strings.Replace(repo, "image: nginx", "image: [nginx]", 1), problems: []string{"f.yaml:1 decode"}},
		{name: "bad duration", in: strings.Replace(repo, "image: nginx", "image: nginx\n  interval: 5 minutes", 1), problems: []string{"f.yaml:1 decode"}},
		{name: "unknown kind of ours", in: "apiVersion: image.tagflow.dev/v1\nkind: ImageThing\n", problems: []string{"f.yaml:1 unsupported"}},
		{name: "unknown version of ours", in: strings.Replace(repo, "/v1", "/v2", 1), problems: []string{"f.yaml:1 unsupported"}},
		{name: "Flux v1beta1", in: strings.Replace(repo, "image.tagflow.dev/v1", "image.toolkit.fluxcd.io/v1beta1", 1),
			keys: []string{"ImageRepository default/web from image.toolkit.fluxcd.io/v1beta1"}},
		{name: "Flux v1alpha2", in: strings.Replace(repo, "image.tagflow.dev/v1", "image.toolkit.fluxcd.io/v1alpha2", 1), problems: []string{"f.yaml:1 unsupported"}},
		{name: "unrelated kinds", in: "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: image.tagflow.dev}\n"},
		{name: "unparsable unrelated document", in: "{{ if .Values.x }}\nkind: Deployment\n{{ end }}\n"},
		{name: "broken template mentioning a group", in: "# deploys image.tagflow.dev objects\n{{ if .x }}\nkind: [\n"},
		{name: "broken JSON document of ours", in: `{"apiVersion": "image.tagflow.dev/v1", "kind": [}`, problems: []string{"f.yaml:1 syntax"}},
		{name: "JSON document", in: `{"apiVersion": "image.tagflow.dev/v1", "kind": "ImageRepository", "metadata": {"name": "j"}, "spec": {"image": "x"}}`,
			keys: []string{"ImageRepository default/j from image.tagflow.dev/v1"}},
		{name: "scalar and list documents", in: "image.tagflow.dev\n---\n- image.toolkit.fluxcd.io\n---\napiVersion: 5\nkind: image.tagflow.dev\n"},
		{name: "GitRepository is read leniently", in: "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: fleet}\nspec:\n  url: https://github.com/x/y\n  include: [{repository: {name: other}}]\n  verify: {mode: HEAD}\n",
			keys: []string{"GitRepository default/fleet from source.toolkit.fluxcd.io/v1"}},
		{name: "GitRepository validated", in: "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: fleet}\nspec:\n  url: ftp://github.com/x/y\n",
			problems: []string{"f.yaml:1 invalid spec.url"}},
		{name: "GitRepository v1beta1", in: "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: GitRepository\nmetadata: {name: fleet}\nspec:\n  url: https://github.com/x/y\n  gitImplementation: go-git\n",
			keys: []string{"GitRepository default/fleet from source.toolkit.fluxcd.io/v1beta1"}},
		{name: "GitRepository v1alpha1", in: "apiVersion: source.toolkit.fluxcd.io/v1alpha1\nkind: GitRepository\nmetadata: {name: fleet}\n", problems: []string{"f.yaml:1 unsupported"}},
		{name: "other source kinds", in: "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: GitRepository}\nspec: {foo: bar}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Bytes("f.yaml", []byte(tc.in), tc.opts)
			if diff := cmp.Diff(tc.problems, summary(t, ".", err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tc.keys, keys(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	in := "# c\n\na: 1\n---\nb: 2\n--- # comment\n\n# c\nc: 3\n---\n...\n--- d: 4\n---\n   \n"
	var got []string
	for _, d := range splitDocuments([]byte(in)) {
		got = append(got, fmt.Sprintf("%d %q", d.line, d.data))
	}
	want := []string{
		`3 "# c\n\na: 1\n"`,
		`5 "b: 2\n"`,
		`9 "\n# c\nc: 3\n"`,
		`12 "d: 4\n"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func find[T any, P interface {
	*T
	GetName() string
}](t *testing.T, items []T, name string) T {
	t.Helper()
	for i := range items {
		if P(&items[i]).GetName() == name {
			return items[i]
		}
	}
	t.Fatalf("no object named %s", name)
	var zero T
	return zero
}

// TestReference: the annotated manifest that shows every field loads without problems, and
// every field in it survives decoding.
func TestReference(t *testing.T) {
	file := filepath.Join("..", "..", "..", "docs", "reference.yaml")
	objs, err := Dir(context.Background(), file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Alert shop/releases from image.tagflow.dev/v1",
		"ImagePolicy shop/web from image.tagflow.dev/v1",
		"ImageRepository shop/web from image.tagflow.dev/v1",
		"ImageUpdateAutomation shop/shop from image.tagflow.dev/v1",
		"Provider shop/slack from image.tagflow.dev/v1",
		"Receiver shop/registry from image.tagflow.dev/v1",
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	p := objs.ImagePolicies[0].Spec
	if p.Hold == nil || p.MinAge == nil || len(p.Platforms) != 2 || p.Interval == nil || p.FilterTags == nil {
		t.Errorf("ImagePolicy spec lost fields: %+v", p)
	}
	a := objs.ImageUpdateAutomations[0].Spec
	if pr := a.GitSpec.Push.PullRequest; pr == nil || pr.APIURL == "" || pr.SecretRef == nil || len(pr.Assignees) != 1 {
		t.Errorf("pullRequest lost fields: %+v", pr)
	}
	if len(a.Windows) != 2 || a.Windows[1].TimeZone != "UTC" || a.Windows[0].TimeZone != "Europe/Berlin" {
		t.Errorf("windows = %+v", a.Windows)
	}
	if rc := objs.Receivers[0].Spec; rc.Type != "distribution" || len(rc.Resources) != 1 || rc.Resources[0].MatchLabels["team"] != "shop" {
		t.Errorf("Receiver spec lost fields: %+v", rc)
	}
	if pv := objs.Providers[0].Spec; pv.Channel == "" || pv.Username == "" || pv.Timeout == nil || pv.Proxy == "" || pv.SecretRef == nil || pv.CertSecretRef == nil {
		t.Errorf("Provider spec lost fields: %+v", pv)
	}
	if al := objs.Alerts[0].Spec; len(al.EventSources) != 2 || al.EventSources[0].MatchLabels["team"] != "shop" || al.EventSources[1].APIVersion == "" ||
		al.EventSources[1].Namespace != "shop" || len(al.InclusionList) != 1 || len(al.ExclusionList) != 1 || al.Summary == "" || len(al.EventMetadata) != 2 {
		t.Errorf("Alert spec lost fields: %+v", al)
	}
	r := objs.ImageRepositories[0].Spec
	if r.AccessFrom == nil || r.PageSize != 1000 || r.MaxTags != 20000 || r.CertSecretRef == nil || r.ProxySecretRef == nil {
		t.Errorf("ImageRepository spec lost fields: %+v", r)
	}
}

// TestDecodeProblems: a document that does not decode names every bad field with its path
// (the JSON decoder alone stops at the first, and without a path for durations and times).
func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "several",
			in: "apiVersion: image.tagflow.dev/v1\nkind: ImageRepository\nmetadata: {name: web, labels: {a: 1}}\n" +
				"spec: {image: nginx, interval: 5 minutes, pageSize: many, insecure: yes please, typo: 1}\n",
			want: `f.yaml:1: ImageRepository web: metadata.labels.a: must be a string, not 1; spec.interval: invalid duration "5 minutes" (want e.g. 90s, 5m, 1h30m); ` +
				`spec.insecure: must be true or false, not "yes please"; spec.pageSize: must be a whole number, not "many"; unknown field "spec.typo"`,
		},
		{
			name: "time and list",
			in: "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {name: web, namespace: shop}\n" +
				"spec: {imageRepositoryRef: {name: web}, policy: {semver: {range: 1.x}}, platforms: linux/amd64, hold: {tag: '1', reason: r, until: tomorrow}}\n",
			want: `f.yaml:1: ImagePolicy shop/web: spec.platforms: must be a list, not "linux/amd64"; spec.hold.until: invalid time "tomorrow" (want RFC 3339, e.g. 2030-01-01T00:00:00Z)`,
		},
		{
			name: "GitRepository ignores unknown fields but not wrong types",
			in:   "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: fleet}\nspec: {url: [x], other: 1, interval: 1 minute}\n",
			want: `f.yaml:1: GitRepository fleet: spec.url: must be a string, not a list; spec.interval: invalid duration "1 minute" (want e.g. 90s, 5m, 1h30m)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Bytes("f.yaml", []byte(tc.in), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("errors.Is(err, ErrDecode) = false for %v", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
