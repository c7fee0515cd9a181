package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// DefaultNamespace is the namespace of objects without one when Options.Namespace is empty.
const DefaultNamespace = "default"

// API versions read besides tagflow's own.
const (
	fluxImageGroup        = "image.toolkit.fluxcd.io"
	fluxSourceGroup       = "source.toolkit.fluxcd.io"
	fluxNotificationGroup = "notification.toolkit.fluxcd.io"
)

// fluxImageVersions are the versions of Flux's image API that are read. Their fields are
// a subset of image.tagflow.dev/v1's, with the same names and meaning, so a document of any
// of them decodes into tagflow's types unchanged; only the commit message template data
// differ (v1beta1 and v1beta2 also offer .Updated: see v1.OffersUpdated).
var fluxImageVersions = []string{"v1", "v1beta2", "v1beta1"}

// Options control loading. The zero value is ready to use.
type Options struct {
	// Namespace is given to objects without metadata.namespace. Empty means
	// DefaultNamespace.
	Namespace string
}

// Objects is the set of objects loaded from files, each kind sorted by namespace and name.
type Objects struct {
	ImageRepositories      []v1.ImageRepository
	ImagePolicies          []v1.ImagePolicy
	ImageUpdateAutomations []v1.ImageUpdateAutomation
	GitRepositories        []v1.GitRepository
	// Receivers are tagflow's webhook receivers (image.tagflow.dev/v1 only; Flux's
	// notification Receivers trigger Flux's controllers and are not read).
	Receivers []v1.Receiver
	// Providers and Alerts are the notification kinds, of image.tagflow.dev/v1 and of Flux's
	// notification.toolkit.fluxcd.io v1beta3, v1beta2 and v1beta1 (see fluxNotificationVersions).
	Providers []v1.Provider
	Alerts    []v1.Alert
	// Origins says where each loaded object was read.
	Origins map[Key]Origin
}

// Key identifies an object: kind, namespace and name.
type Key struct {
	Kind      string
	Namespace string
	Name      string
}

// String returns "Kind namespace/name".
func (k Key) String() string { return k.Kind + " " + k.Namespace + "/" + k.Name }

// Origin is where an object was read.
type Origin struct {
	File string
	// Line is the 1-based line at which the object's document starts.
	Line int
	// APIVersion is the document's apiVersion before conversion, e.g.
	// image.toolkit.fluxcd.io/v1beta2 or notification.toolkit.fluxcd.io/v1beta1. It decides
	// what an ImageUpdateAutomation's commit message template sees (v1.OffersUpdated).
	APIVersion string
}

// String returns file:line.
func (o Origin) String() string { return fmt.Sprintf("%s:%d", o.File, o.Line) }

// Dir loads every *.yaml and *.yml file under dir, recursively, skipping .git directories
// and symbolic links below dir (dir itself may be one). dir may also be a single file.
//
// It returns the objects that loaded and validated, and an error joining every problem:
// a *DocumentError per bad document, a *DuplicateError per object defined twice. The
// Objects are never nil.
func Dir(ctx context.Context, dir string, opts Options) (*Objects, error) {
	l := newLoader(opts)
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return l.objs, fmt.Errorf("loading %s: %w", dir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return l.objs, fmt.Errorf("loading %s: %w", dir, err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(root)
		if err != nil {
			return l.objs, fmt.Errorf("loading %s: %w", dir, err)
		}
		l.file(dir, data)
		return l.finish()
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() { // symbolic links, sockets, devices
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := path
		if rel, err := filepath.Rel(root, path); err == nil {
			name = filepath.Join(dir, rel)
		}
		l.file(name, data)
		return nil
	})
	if err != nil {
		return l.objs, fmt.Errorf("loading %s: %w", dir, err)
	}
	return l.finish()
}

// Bytes loads the YAML documents of one file's content; file names it in errors. It
// returns what Dir returns.
func Bytes(file string, data []byte, opts Options) (*Objects, error) {
	l := newLoader(opts)
	l.file(file, data)
	return l.finish()
}

// entry is one decoded, valid object.
type entry struct {
	key    Key
	origin Origin
	obj    any // *v1.ImageRepository, *v1.ImagePolicy, *v1.ImageUpdateAutomation, *v1.GitRepository, *v1.Receiver, *v1.Provider, *v1.Alert
}

type loader struct {
	namespace string
	objs      *Objects
	entries   []entry
	errs      []error
}

func newLoader(opts Options) *loader {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return &loader{namespace: ns, objs: &Objects{Origins: map[Key]Origin{}}}
}

// file loads the documents of one file.
func (l *loader) file(name string, data []byte) {
	for _, d := range splitDocuments(data) {
		if err := l.document(name, d); err != nil {
			de := &DocumentError{File: name, Line: d.line, Err: err}
			if ke, ok := err.(*keyedError); ok {
				de.Object, de.Err = ke.key, ke.err
			}
			l.errs = append(l.errs, de)
		}
	}
}

// mentionsOurGroups is a cheap filter: a document that does not contain one of the API
// groups tagflow reads cannot be one of its objects, so it is neither parsed nor reported
// when it is not YAML (a Helm template, say).
func mentionsOurGroups(doc []byte) bool {
	return bytes.Contains(doc, []byte(v1.Group)) ||
		bytes.Contains(doc, []byte(fluxImageGroup)) ||
		bytes.Contains(doc, []byte(fluxNotificationGroup)) ||
		(bytes.Contains(doc, []byte(fluxSourceGroup)) && bytes.Contains(doc, []byte(v1.GitRepositoryKind)))
}

// declaresOurGroups matches an apiVersion line of one of the groups tagflow reads; a
// document that does not parse is reported only when it has one. It compiles on first use,
// not at start-up, which every command of the binary pays for (issue 20.2).
var declaresOurGroups = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)(^|[{,])\s*["']?apiVersion["']?\s*:\s*["']?(image\.tagflow\.dev|image\.toolkit\.fluxcd\.io|source\.toolkit\.fluxcd\.io|notification\.toolkit\.fluxcd\.io)/`)
})

// typeMeta is read first to tell the kinds apart.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// document loads one document, or returns why it cannot.
func (l *loader) document(file string, d document) error {
	if !mentionsOurGroups(d.data) {
		return nil
	}
	j, err := yaml.YAMLToJSONStrict(d.data)
	if err != nil {
		if !declaresOurGroups().Match(d.data) {
			return nil // a template or other non-YAML that merely mentions a group
		}
		return fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil {
		return nil // a list or a scalar: not an object
	}
	var tm typeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil // apiVersion or kind is not a string: not an object of ours
	}
	group, version, _ := strings.Cut(tm.APIVersion, "/")
	origin := Origin{File: file, Line: d.line, APIVersion: tm.APIVersion}

	var obj interface {
		Default()
		Validate() error
	}
	lenient := false // Flux's GitRepository has many fields tagflow does not use
	switch group {
	case v1.Group, fluxImageGroup:
		if !(group == v1.Group && version == "v1") && !(group == fluxImageGroup && slices.Contains(fluxImageVersions, version)) {
			return fmt.Errorf("%w: %s (tagflow reads %s/v1 and %s/v1, v1beta2 and v1beta1)", ErrUnsupported, tm.APIVersion, v1.Group, fluxImageGroup)
		}
		switch tm.Kind {
		case v1.ImageRepositoryKind:
			obj = &v1.ImageRepository{}
		case v1.ImagePolicyKind:
			obj = &v1.ImagePolicy{}
		case v1.ImageUpdateAutomationKind:
			obj = &v1.ImageUpdateAutomation{}
		case v1.ReceiverKind:
			if group != v1.Group {
				return fmt.Errorf("%w: kind %q of %s (Receiver is %s/v1)", ErrUnsupported, tm.Kind, tm.APIVersion, v1.Group)
			}
			obj = &v1.Receiver{}
		case v1.ProviderKind, v1.AlertKind:
			if group != v1.Group {
				return fmt.Errorf("%w: kind %q of %s (%s is %s/v1 or %s)", ErrUnsupported, tm.Kind, tm.APIVersion, tm.Kind, v1.Group, fluxNotificationGroup)
			}
			obj = newNotificationObject(tm.Kind)
		default:
			return fmt.Errorf("%w: kind %q of %s", ErrUnsupported, tm.Kind, tm.APIVersion)
		}
	case fluxNotificationGroup:
		switch tm.Kind {
		case v1.ProviderKind, v1.AlertKind:
		case v1.ReceiverKind:
			return nil // Flux's Receiver triggers Flux's controllers; tagflow's is its own kind
		default:
			return fmt.Errorf("%w: kind %q of %s (tagflow reads Provider and Alert)", ErrUnsupported, tm.Kind, tm.APIVersion)
		}
		if !slices.Contains(fluxNotificationVersions, version) {
			return fmt.Errorf("%w: %s %s (tagflow reads Flux's %s of %s v1beta3, v1beta2 and v1beta1)", ErrUnsupported, tm.Kind, tm.APIVersion, tm.Kind, fluxNotificationGroup)
		}
		if err := fluxNotificationSpec(tm.Kind, fields); err != nil {
			return fmt.Errorf("%s%s: %w", tm.Kind, nameOf(fields), err)
		}
		obj = newNotificationObject(tm.Kind)
	case fluxSourceGroup:
		if tm.Kind != v1.GitRepositoryKind {
			return nil // HelmRepository, OCIRepository, Bucket: not used by tagflow
		}
		if version != "v1" && version != "v1beta2" && version != "v1beta1" {
			return fmt.Errorf("%w: %s %s (tagflow reads v1, v1beta2 and v1beta1)", ErrUnsupported, tm.Kind, tm.APIVersion)
		}
		obj, lenient = &v1.GitRepository{}, true
	default:
		return nil
	}

	// Status is state, not configuration: standalone mode keeps it in its store. Dropping it
	// also lets `kubectl get -o yaml` output and Flux v1beta2 status fields load.
	delete(fields, "status")
	j, err = json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("re-encoding document: %w", err)
	}
	var strict []error
	if lenient {
		err = strictjson.UnmarshalCaseSensitivePreserveInts(j, obj)
	} else {
		strict, err = strictjson.UnmarshalStrict(j, obj)
	}
	if err != nil {
		fe := &fieldsError{is: ErrDecode, msgs: typeProblems(j, reflect.TypeOf(obj), !lenient)}
		if len(fe.msgs) == 0 {
			fe.msgs = []string{err.Error()}
		}
		return fmt.Errorf("%s%s: %w", tm.Kind, nameOf(fields), fe)
	}
	if len(strict) > 0 {
		fe := &fieldsError{is: ErrUnknownField}
		for _, e := range strict {
			fe.msgs = append(fe.msgs, strings.TrimPrefix(e.Error(), "json: "))
		}
		return fmt.Errorf("%s%s: %w", tm.Kind, nameOf(fields), fe)
	}

	// Converted objects carry tagflow's apiVersion (GitRepository: Flux's v1); Origin keeps
	// the original.
	key := Key{Kind: tm.Kind}
	switch o := obj.(type) {
	case *v1.ImageRepository:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.ImagePolicy:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.ImageUpdateAutomation:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.GitRepository:
		o.APIVersion = fluxSourceGroup + "/v1"
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.Receiver:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.Provider:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	case *v1.Alert:
		o.APIVersion = v1.GroupVersion.String()
		key.Namespace, key.Name = l.namespaced(&o.ObjectMeta)
	}
	obj.Default()
	if a, ok := obj.(*v1.ImageUpdateAutomation); ok {
		// What the commit message template may use depends on the version it was written for.
		if err := a.ValidateAs(tm.APIVersion); err != nil {
			return &keyedError{key: key, err: err}
		}
	} else if err := obj.Validate(); err != nil {
		return &keyedError{key: key, err: err}
	}
	l.entries = append(l.entries, entry{key: key, origin: origin, obj: obj})
	return nil
}

// keyedError is the problem of a document whose object is known (it decoded, then failed
// validation); file moves the key into the DocumentError.
type keyedError struct {
	key Key
	err error
}

func (e *keyedError) Error() string { return e.err.Error() }

// namespaced gives an object without a namespace the loader's default one.
func (l *loader) namespaced(m *metav1.ObjectMeta) (namespace, name string) {
	if m.Namespace == "" {
		m.Namespace = l.namespace
	}
	return m.Namespace, m.Name
}

// nameOf returns " namespace/name" from a document's metadata, for messages about documents
// that did not decode.
func nameOf(fields map[string]json.RawMessage) string {
	var m struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	if err := json.Unmarshal(fields["metadata"], &m); err != nil || m.Name == "" {
		return ""
	}
	if m.Namespace == "" {
		return " " + m.Name
	}
	return " " + m.Namespace + "/" + m.Name
}

// finish drops duplicates, fills in Objects and joins the errors.
func (l *loader) finish() (*Objects, error) {
	byKey := map[Key][]entry{}
	for _, e := range l.entries {
		byKey[e.key] = append(byKey[e.key], e)
	}
	for _, e := range l.entries {
		dups := byKey[e.key]
		if len(dups) > 1 {
			if e == dups[0] {
				for _, d := range dups[1:] {
					l.errs = append(l.errs, &DuplicateError{Key: e.key, First: dups[0].origin, Second: d.origin})
				}
			}
			continue
		}
		l.objs.Origins[e.key] = e.origin
		switch o := e.obj.(type) {
		case *v1.ImageRepository:
			l.objs.ImageRepositories = append(l.objs.ImageRepositories, *o)
		case *v1.ImagePolicy:
			l.objs.ImagePolicies = append(l.objs.ImagePolicies, *o)
		case *v1.ImageUpdateAutomation:
			l.objs.ImageUpdateAutomations = append(l.objs.ImageUpdateAutomations, *o)
		case *v1.GitRepository:
			l.objs.GitRepositories = append(l.objs.GitRepositories, *o)
		case *v1.Receiver:
			l.objs.Receivers = append(l.objs.Receivers, *o)
		case *v1.Provider:
			l.objs.Providers = append(l.objs.Providers, *o)
		case *v1.Alert:
			l.objs.Alerts = append(l.objs.Alerts, *o)
		}
	}
	sortByName(l.objs.ImageRepositories, func(o *v1.ImageRepository) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.ImagePolicies, func(o *v1.ImagePolicy) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.ImageUpdateAutomations, func(o *v1.ImageUpdateAutomation) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.GitRepositories, func(o *v1.GitRepository) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.Receivers, func(o *v1.Receiver) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.Providers, func(o *v1.Provider) (string, string) { return o.Namespace, o.Name })
	sortByName(l.objs.Alerts, func(o *v1.Alert) (string, string) { return o.Namespace, o.Name })
	return l.objs, errors.Join(l.errs...)
}

func sortByName[T any](s []T, key func(*T) (string, string)) {
	slices.SortStableFunc(s, func(a, b T) int {
		an, aname := key(&a)
		bn, bname := key(&b)
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		return strings.Compare(aname, bname)
	})
}

// fieldsError lists the problems of a document's fields, each with its path, and matches
// one sentinel (ErrDecode or ErrUnknownField).
type fieldsError struct {
	is   error
	msgs []string
}

func (e *fieldsError) Error() string { return strings.Join(e.msgs, "; ") }

func (e *fieldsError) Is(target error) bool { return target == e.is }
