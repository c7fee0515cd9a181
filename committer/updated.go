package committer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/tagflow/tagflow/setter"
)

// UpdateResult is the .Updated of Flux's image.toolkit.fluxcd.io v1beta1 and v1beta2
// commit message templates (Flux's update.Result), which a Request with LegacyTemplateData
// offers besides .Changed: the images an update set, by file and object. The shapes and
// method names are Flux's, so templates written for those versions render as Flux
// rendered them.
//
// As in Flux, an image is listed once per object and policy however many of its markers
// the object has, whether the marker set the whole reference, the tag or the name; and a
// field outside any object (no apiVersion and kind around it: a bare kustomization.yaml,
// Helm values) is not in it. Flux left the order of Images and of the lists Objects
// returns to Go's map iteration; here they are by file, then position in the file.
type UpdateResult struct {
	// Files maps each changed file, relative to the update path, to its objects.
	Files map[string]UpdateFileResult

	files []string // the keys of Files, sorted
}

// UpdateFileResult is the objects of one file and the images set in each (Flux's
// update.FileResult).
type UpdateFileResult struct {
	Objects map[ObjectIdentifier][]ImageRef

	objects []ObjectIdentifier // in the order of the file
}

// ObjectIdentifier names a Kubernetes object (Flux's update.ObjectIdentifier, over kyaml's
// ResourceIdentifier: .APIVersion, .Kind, .Name, .Namespace).
type ObjectIdentifier struct {
	yaml.ResourceIdentifier
}

// ImageRef is an image reference an update set (Flux's update.ImageRef). It prints as the
// whole reference, e.g. "ghcr.io/org/app:1.2.4".
type ImageRef interface {
	// String returns the reference as the policy chose it, e.g. "ghcr.io/org/app:1.2.4".
	String() string
	// Identifier returns the tag or digest, e.g. "1.2.4".
	Identifier() string
	// Repository returns the repository with implied defaults, e.g. "library/nginx".
	Repository() string
	// Registry returns the registry, e.g. "index.docker.io".
	Registry() string
	// Name returns the fully qualified reference, e.g. "index.docker.io/library/nginx:1.27".
	Name() string
	// Policy names the image policy that chose the reference.
	Policy() PolicyName
}

// PolicyName is an image policy's namespace and name; it prints as "namespace/name".
type PolicyName struct {
	Namespace string
	Name      string
}

func (p PolicyName) String() string { return p.Namespace + "/" + p.Name }

// imageRef is Flux's imageRef: a parsed reference and the policy that chose it.
type imageRef struct {
	name.Reference
	policy PolicyName
}

// Policy names the policy that chose the reference.
func (r imageRef) Policy() PolicyName { return r.policy }

// Repository returns the repository, e.g. "library/nginx".
func (r imageRef) Repository() string { return r.Context().RepositoryStr() }

// Registry returns the registry, e.g. "index.docker.io".
func (r imageRef) Registry() string { return r.Context().Registry.String() }

// key is what makes two references the same image, as Flux compares them: the reference and
// the policy.
func (r imageRef) key() [2]string { return [2]string{r.String(), r.policy.String()} }

// Images returns every image the update set, each once per policy.
func (r UpdateResult) Images() []ImageRef {
	seen := map[[2]string]bool{}
	var out []ImageRef
	for _, f := range r.files {
		fr := r.Files[f]
		for _, o := range fr.objects {
			for _, ref := range fr.Objects[o] {
				if k := ref.(imageRef).key(); !seen[k] {
					seen[k] = true
					out = append(out, ref)
				}
			}
		}
	}
	return out
}

// Objects returns the images set in each object, across files.
func (r UpdateResult) Objects() map[ObjectIdentifier][]ImageRef {
	out := map[ObjectIdentifier][]ImageRef{}
	for _, f := range r.files {
		fr := r.Files[f]
		for _, o := range fr.objects {
			out[o] = append(out[o], fr.Objects[o]...)
		}
	}
	return out
}

// newUpdateResult builds .Updated from the setter's result and the reference each policy
// ("NAMESPACE:NAME") chose. A change of a policy refs does not name is left out, as Flux
// leaves out a field whose setter it does not know.
func newUpdateResult(changed *setter.Result, refs map[string]string) (*UpdateResult, error) {
	res := &UpdateResult{Files: map[string]UpdateFileResult{}}
	if changed == nil {
		return res, nil
	}
	parsed := map[string]imageRef{}
	for _, f := range changed.Files {
		for _, c := range f.Changes {
			if c.Object.APIVersion == "" && c.Object.Kind == "" {
				continue // Flux's setter finds no object metadata and records nothing
			}
			ref, ok := parsed[c.Policy]
			if !ok {
				s, known := refs[c.Policy]
				if !known {
					continue
				}
				r, err := name.ParseReference(s, name.WeakValidation)
				if err != nil {
					return nil, fmt.Errorf("image reference %q of policy %s: %w", s, c.Policy, err)
				}
				ns, n, _ := strings.Cut(c.Policy, ":")
				ref = imageRef{Reference: r, policy: PolicyName{Namespace: ns, Name: n}}
				parsed[c.Policy] = ref
			}
			fr, ok := res.Files[f.Path]
			if !ok {
				fr = UpdateFileResult{Objects: map[ObjectIdentifier][]ImageRef{}}
				res.files = append(res.files, f.Path)
			}
			oid := ObjectIdentifier{yaml.ResourceIdentifier{
				TypeMeta: yaml.TypeMeta{APIVersion: c.Object.APIVersion, Kind: c.Object.Kind},
				NameMeta: yaml.NameMeta{Name: c.Object.Name, Namespace: c.Object.Namespace},
			}}
			list, seen := fr.Objects[oid]
			if !seen {
				fr.objects = append(fr.objects, oid)
			}
			if !slices.ContainsFunc(list, func(x ImageRef) bool { return x.(imageRef).key() == ref.key() }) {
				fr.Objects[oid] = append(list, ref)
			}
			res.Files[f.Path] = fr
		}
	}
	slices.Sort(res.files)
	return res, nil
}
