package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
)

// problem is why an object is left out of the engine's configuration.
type problem struct {
	reason  string
	message string
	// stalled: the spec itself is wrong; nothing but a change of it helps.
	stalled bool
}

// Reasons of the problems the controller finds before the engine sees an object.
const (
	reasonAccessDenied = "AccessDenied"
	reasonNotSupported = "NotSupported"
)

// gitRepositoryGVK is Flux's GitRepository, which an automation's sourceRef may name.
var gitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}

// objects is one consistent read of the managed objects from the cache.
type objects struct {
	repos    v1.ImageRepositoryList
	policies v1.ImagePolicyList
	autos    v1.ImageUpdateAutomationList
	// Providers and Alerts, with tagflow's API only.
	providers v1.ProviderList
	alerts    v1.AlertList
}

func (c *Controller) list(ctx context.Context) (*objects, error) {
	var o objects
	lists := []struct {
		what string
		list client.ObjectList
	}{{"ImageRepositories", &o.repos}, {"ImagePolicies", &o.policies}, {"ImageUpdateAutomations", &o.autos}}
	if c.notes != nil {
		lists = append(lists, struct {
			what string
			list client.ObjectList
		}{"Providers", &o.providers}, struct {
			what string
			list client.ObjectList
		}{"Alerts", &o.alerts})
	}
	for _, l := range lists {
		if err := c.client.List(ctx, l.list); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	return &o, nil
}

// build reads every managed object, validates and converts it, and applies the result to
// the engine. Objects that cannot be converted are left out with their problem, which the
// status writer reports. Reconcile requests are served once their object is applied.
func (c *Controller) build(ctx context.Context) error {
	objs, err := c.list(ctx)
	if err != nil {
		return err
	}
	b := builder{c: c, ctx: ctx, used: map[types.NamespacedName]bool{}, namespaces: map[string]labels.Set{},
		problems: map[automation.ObjectID]*problem{}, generations: map[automation.ObjectID]int64{}, configs: map[automation.ObjectID]any{}}
	cfg := b.convert(objs)
	if c.notes != nil {
		c.notes.update(&b, objs, cfg)
	}
	// Taken before Apply: the engine may evaluate a new object and write its status before
	// Apply returns, and that status describes the new configuration.
	now := time.Now()
	if err := c.engine.Apply(cfg); err != nil {
		return fmt.Errorf("applying the configuration: %w", err)
	}
	c.secrets.retain(b.used)

	c.mu.Lock()
	state := make(map[automation.ObjectID]*objectState, len(b.generations))
	for id, gen := range b.generations {
		old := c.state[id]
		st := &objectState{problem: b.problems[id], generation: gen, config: b.configs[id], since: now}
		if old != nil {
			st.handled = old.handled
			if old.problem == nil && st.problem == nil && reflect.DeepEqual(old.config, st.config) {
				// Nothing the engine sees changed: its status still describes the object.
				st.since = old.since
			}
		}
		state[id] = st
	}
	requests := c.requests
	c.requests = map[automation.ObjectID]reconcileRequest{}
	c.mu.Unlock()

	// Serve the reconcile requests of applied objects before the new state is published
	// (the status writer reads it without a lock).
	for id, r := range requests {
		st := state[id]
		if st == nil {
			continue // deleted meanwhile
		}
		if r.release {
			c.engine.ReleaseHolds(id)
		}
		if st.problem == nil {
			if err := c.engine.Request(ctx, id); err != nil && !errors.Is(err, automation.ErrNotRunning) {
				c.log.Warn("serving a reconcile request", "object", id.String(), "error", err.Error())
				continue
			}
		}
		st.handled = r.value
	}
	c.mu.Lock()
	c.state = state
	c.mu.Unlock()
	c.signalStatus()
	return nil
}

// builder converts one read of the objects.
type builder struct {
	c           *Controller
	ctx         context.Context
	used        map[types.NamespacedName]bool // Secrets referred to
	namespaces  map[string]labels.Set         // labels of the namespaces looked up
	problems    map[automation.ObjectID]*problem
	generations map[automation.ObjectID]int64
	configs     map[automation.ObjectID]any
	// accounts are the ServiceAccounts read for cloud identities, once per build.
	accounts map[types.NamespacedName]*corev1.ServiceAccount
}

func (b *builder) convert(o *objects) automation.Config {
	var cfg automation.Config
	repos := map[types.NamespacedName]*v1.ImageRepository{}
	for i := range o.repos.Items {
		r := o.repos.Items[i].DeepCopy()
		repos[types.NamespacedName{Namespace: r.Namespace, Name: r.Name}] = r
		id := automation.ObjectID{Kind: automation.KindRepository, Namespace: r.Namespace, Name: r.Name}
		b.generations[id] = r.Generation
		conv, p := b.repository(r)
		if p != nil {
			b.problems[id] = p
			continue
		}
		b.configs[id] = conv
		cfg.Repositories = append(cfg.Repositories, conv)
	}
	for i := range o.policies.Items {
		p := o.policies.Items[i].DeepCopy()
		id := automation.ObjectID{Kind: automation.KindPolicy, Namespace: p.Namespace, Name: p.Name}
		b.generations[id] = p.Generation
		conv, prob := b.policy(p, repos)
		if prob != nil {
			b.problems[id] = prob
			continue
		}
		b.configs[id] = conv
		cfg.Policies = append(cfg.Policies, conv)
	}
	policies := convert.PolicyList(o.policies.Items)
	for i := range o.autos.Items {
		a := o.autos.Items[i].DeepCopy()
		id := automation.ObjectID{Kind: automation.KindAutomation, Namespace: a.Namespace, Name: a.Name}
		b.generations[id] = a.Generation
		conv, p := b.automation(a, policies)
		if p != nil {
			b.problems[id] = p
			continue
		}
		b.configs[id] = conv
		cfg.Automations = append(cfg.Automations, conv)
	}
	return cfg
}

func invalid(err error) *problem {
	return &problem{reason: v1.InvalidSpecReason, message: err.Error(), stalled: true}
}

func notReady(kind, namespace, name string, err error) *problem {
	return &problem{reason: v1.DependencyNotReadyReason, message: fmt.Sprintf("%s %s/%s: %v", kind, namespace, name, err)}
}

func (b *builder) secrets(namespace string) convert.Secrets {
	return convert.Secrets{Lookup: b.c.secrets.lookup(b.ctx, namespace, b.used), All: b.c.secrets.all(b.ctx, namespace, b.used)}
}

// serviceAccounts reads the imagePullSecrets of ServiceAccounts from the API server.
func (b *builder) serviceAccounts() convert.ServiceAccounts {
	return convert.PullSecretsFunc(func(namespace, name string) ([]byte, error) {
		return b.c.secrets.pullSecrets(b.ctx, b.c.reader, namespace, name, b.used)
	})
}

func (b *builder) repository(r *v1.ImageRepository) (automation.Repository, *problem) {
	r.Default()
	if err := r.Validate(); err != nil {
		return automation.Repository{}, invalid(err)
	}
	conv, err := convert.Repository(r, b.secrets(r.Namespace), b.serviceAccounts(), cloudLogins{b})
	if err != nil {
		return conv, notReady(v1.ImageRepositoryKind, r.Namespace, r.Name, err)
	}
	return conv, nil
}

func (b *builder) policy(p *v1.ImagePolicy, repos map[types.NamespacedName]*v1.ImageRepository) (automation.Policy, *problem) {
	p.Default()
	if err := p.Validate(); err != nil {
		return automation.Policy{}, invalid(err)
	}
	conv, err := convert.Policy(p, b.secrets(p.Namespace))
	if err != nil {
		return conv, &problem{reason: reasonNotSupported, stalled: true, message: fmt.Sprintf("%s %s/%s: %v", v1.ImagePolicyKind, p.Namespace, p.Name, err)}
	}
	ref := types.NamespacedName{Namespace: conv.Repository.Namespace, Name: conv.Repository.Name}
	if ref.Namespace != p.Namespace {
		// A repository in another namespace: only where its accessFrom admits this one.
		repo := repos[ref]
		if repo == nil {
			return conv, nil // the engine reports the missing repository
		}
		ok, err := b.admits(repo.Spec.AccessFrom, p.Namespace)
		if err != nil {
			return conv, notReady(v1.ImagePolicyKind, p.Namespace, p.Name, err)
		}
		if !ok {
			return conv, &problem{reason: reasonAccessDenied, message: fmt.Sprintf(
				"%s %s/%s: ImageRepository %s does not admit namespace %q in its spec.accessFrom", v1.ImagePolicyKind, p.Namespace, p.Name, ref, p.Namespace)}
		}
	}
	return conv, nil
}

// admits reports whether an accessFrom list admits namespace.
func (b *builder) admits(acl *v1.AccessFrom, namespace string) (bool, error) {
	if acl == nil {
		return false, nil
	}
	set, ok := b.namespaces[namespace]
	if !ok {
		var ns corev1.Namespace
		if err := b.c.reader.Get(b.ctx, types.NamespacedName{Name: namespace}, &ns); err != nil {
			return false, fmt.Errorf("reading Namespace %s: %w", namespace, err)
		}
		set = labels.Set(ns.Labels)
		b.namespaces[namespace] = set
	}
	for _, sel := range acl.NamespaceSelectors {
		if labels.SelectorFromSet(sel.MatchLabels).Matches(set) {
			return true, nil
		}
	}
	return false, nil
}

func (b *builder) automation(a *v1.ImageUpdateAutomation, policies convert.Policies) (automation.Automation, *problem) {
	a.Default()
	if err := a.Validate(); err != nil {
		return automation.Automation{}, invalid(err)
	}
	var sources convert.GitRepositories
	secretsNamespace := a.Namespace
	if ref := a.Spec.SourceRef; ref != nil && a.Spec.GitSpec != nil && a.Spec.GitSpec.Repository == nil {
		ns := ref.Namespace
		if ns == "" {
			ns = a.Namespace
		}
		src, err := b.gitRepository(ns, ref.Name)
		if err != nil {
			return automation.Automation{}, notReady(v1.ImageUpdateAutomationKind, a.Namespace, a.Name, fmt.Errorf("spec.sourceRef: %w", err))
		}
		sources = convert.GitRepositoryList{*src}
		if src.Spec.SecretRef != nil {
			// The source's Secret lives with the source.
			secretsNamespace = ns
		}
	}
	conv, err := convert.Automation(a, b.secrets(secretsNamespace), sources, policies)
	if err != nil {
		return conv, notReady(v1.ImageUpdateAutomationKind, a.Namespace, a.Name, err)
	}
	return conv, nil
}

// gitRepository reads Flux's GitRepository namespace/name from the API server.
func (b *builder) gitRepository(namespace, name string) (*v1.GitRepository, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gitRepositoryGVK)
	if err := b.c.reader.Get(b.ctx, types.NamespacedName{Namespace: namespace, Name: name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("GitRepository %s/%s not found", namespace, name)
		}
		return nil, fmt.Errorf("reading GitRepository %s/%s: %w", namespace, name, err)
	}
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var g v1.GitRepository
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("GitRepository %s/%s: %w", namespace, name, err)
	}
	g.Default()
	return &g, nil
}
