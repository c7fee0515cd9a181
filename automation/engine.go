package automation

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tagflow/tagflow/internal/redact"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/setter"
)

// Options configures New. Store, Scanner and Committer are required; the zero value of
// every other field means its default.
type Options struct {
	// Store keeps the tag cache and the status of every object (a *store.DB).
	Store Store
	// Scanner reads the registries (a *scanner.Scanner).
	Scanner Scanner
	// Committer keeps the clone cache and commits and pushes (a *committer.Committer).
	Committer Committer
	// Logger receives what the engine does (scans, evaluations, commits, failures) and the
	// setter's warnings. Nil: nothing is logged.
	Logger *slog.Logger
	// Clock is the time of status stamps, the scan times the store records (first-seen
	// times), policy evaluation (minAge, hold expiry) and Run's schedules. Nil: the wall
	// clock.
	Clock Clock
	// Concurrency bounds the scans (and policy evaluations, and automations) running at
	// once. Zero: 4.
	Concurrency int
	// CoalesceWindow is how long Run waits after a policy change before running the
	// automations it triggers, so that the changes arriving meanwhile make one commit.
	// Zero: 1 s.
	CoalesceWindow time.Duration
	// ShutdownGrace is how long an automation that is committing or pushing may go on after
	// Run's context ends before it is abandoned (the committer then leaves its clone cache
	// for the next run to reset). Zero: 30 s; negative: abandon at once.
	ShutdownGrace time.Duration
	// Metrics receives counters and durations. Nil: NopMetrics.
	Metrics Metrics
}

// Engine runs scans, policy evaluations and automations over a configuration set with
// Apply. It is safe for concurrent use, but RunOnce, Run and Plan exclude each other.
type Engine struct {
	db          Store
	scan        Scanner
	commit      Committer
	log         *slog.Logger
	clock       Clock
	now         func() time.Time // clock.Now
	concurrency int
	window      time.Duration
	grace       time.Duration
	metrics     Metrics

	// cfgMu orders Apply (write) against status writes (read), so that a status is never
	// written for an object Apply has just removed.
	cfgMu sync.RWMutex
	cfg   atomic.Pointer[compiled]

	runMu sync.Mutex // held by RunOnce, Run and Plan

	stMu     sync.Mutex
	statuses map[ObjectID]*ObjectStatus // cache of the stored statuses; nil until loaded
	// statusVersion grows with every change of what Status returns (see StatusVersion).
	statusVersion atomic.Uint64

	polMu    sync.Mutex
	polState map[ObjectID]*policyState
	// evalLocks holds a *sync.Mutex per policy (lockPolicy).
	evalLocks sync.Map

	sched atomic.Pointer[scheduler] // set while Run runs

	events bus
	hist   history

	notesMu sync.Mutex
	notes   map[ObjectID]*runNote // see setRunNote

	trust verdicts // signature verifications (spec.verify)
}

// policyState is what the engine remembers about a policy between evaluations.
type policyState struct {
	revision string // tag-set revision of the last evaluation
	value    *setter.Value
	ref      string
}

// New returns an Engine with an empty configuration; call Apply before running it.
func New(opts Options) (*Engine, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("automation: no store")
	case opts.Scanner == nil:
		return nil, errors.New("automation: no scanner")
	case opts.Committer == nil:
		return nil, errors.New("automation: no committer")
	}
	e := &Engine{
		db:          opts.Store,
		scan:        opts.Scanner,
		commit:      opts.Committer,
		log:         opts.Logger,
		clock:       opts.Clock,
		concurrency: opts.Concurrency,
		window:      opts.CoalesceWindow,
		grace:       opts.ShutdownGrace,
		metrics:     opts.Metrics,
		polState:    map[ObjectID]*policyState{},
	}
	if hs, ok := opts.Store.(HistoryStore); ok {
		e.hist.db = hs
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	// No log line shows a credential of the configuration, whoever forgot to hide it.
	e.log = slog.New(redact.NewHandler(e.log.Handler(), e.redactor))
	if e.clock == nil {
		e.clock = wallClock{}
	}
	e.now = e.clock.Now
	if e.concurrency <= 0 {
		e.concurrency = 4
	}
	if e.window <= 0 {
		e.window = time.Second
	}
	switch {
	case e.grace == 0:
		e.grace = 30 * time.Second
	case e.grace < 0:
		e.grace = 0
	}
	if e.metrics == nil {
		e.metrics = NopMetrics{}
	}
	e.cfg.Store(newCompiled())
	return e, nil
}

// compiled is a validated configuration with its cross references resolved. It is never
// modified after Apply built it.
type compiled struct {
	gen            int64
	repos          map[ObjectID]*repoEntry
	policies       map[ObjectID]*policyEntry
	autos          map[ObjectID]*autoEntry
	repoOrder      []ObjectID
	policyOrder    []ObjectID
	autoOrder      []ObjectID
	byImage        map[string][]ObjectID   // canonical image → repositories
	policiesByRepo map[ObjectID][]ObjectID // repository → its policies
	autosByPolicy  map[ObjectID][]ObjectID // policy → automations selecting it
	red            *redact.Secrets         // every credential of the configuration (redact.go)
}

type repoEntry struct {
	cfg      Repository
	image    string        // canonical name; empty when invalid
	schedule cron.Schedule // nil when invalid
	err      error         // an invalid spec
}

type policyEntry struct {
	cfg    Policy
	pol    *policy.Policy
	repo   ObjectID // resolved reference
	reason string   // why the policy cannot be evaluated; empty when it can
	err    error
}

type autoEntry struct {
	cfg        Automation
	policies   []ObjectID
	schedule   cron.Schedule      // nil: triggers only
	branchTmpl *template.Template // nil: PushBranch is a literal name
	prTmpl     *prTemplates       // nil without PullRequest
	reason     string
	err        error
}

func (c *compiled) has(id ObjectID) bool {
	switch id.Kind {
	case KindRepository:
		_, ok := c.repos[id]
		return ok
	case KindPolicy:
		_, ok := c.policies[id]
		return ok
	case KindAutomation:
		_, ok := c.autos[id]
		return ok
	}
	return false
}

// all returns every object ID in report order: repositories, policies, automations.
func (c *compiled) all() []ObjectID {
	out := make([]ObjectID, 0, len(c.repoOrder)+len(c.policyOrder)+len(c.autoOrder))
	out = append(out, c.repoOrder...)
	out = append(out, c.policyOrder...)
	return append(out, c.autoOrder...)
}

// parseSchedule parses a cron expression: five fields, or a descriptor such as "@every 5m".
func parseSchedule(s string) (cron.Schedule, error) {
	sch, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sch, nil
}

// every is a cron.Schedule with a fixed interval from the last run.
type every time.Duration

func (d every) Next(t time.Time) time.Time { return t.Add(time.Duration(d)) }

// newCompiled returns an empty configuration.
func newCompiled() *compiled {
	return &compiled{
		repos: map[ObjectID]*repoEntry{}, policies: map[ObjectID]*policyEntry{}, autos: map[ObjectID]*autoEntry{},
		byImage: map[string][]ObjectID{}, policiesByRepo: map[ObjectID][]ObjectID{}, autosByPolicy: map[ObjectID][]ObjectID{},
	}
}

// compile validates cfg. Problems of single objects are recorded in their entries; only
// problems of the whole (duplicates, objects without a name) are returned.
func compile(cfg Config) (*compiled, error) {
	c := newCompiled()
	var problems []error
	for _, r := range cfg.Repositories {
		if r.ID.Kind == "" {
			r.ID.Kind = KindRepository
		}
		_, seen := c.repos[r.ID]
		if err := checkID(r.ID, KindRepository, seen); err != nil {
			problems = append(problems, err)
			continue
		}
		c.addRepository(r)
	}
	sortIDs(c.repoOrder)
	for _, p := range cfg.Policies {
		if p.ID.Kind == "" {
			p.ID.Kind = KindPolicy
		}
		_, seen := c.policies[p.ID]
		if err := checkID(p.ID, KindPolicy, seen); err != nil {
			problems = append(problems, err)
			continue
		}
		c.addPolicy(p)
	}
	sortIDs(c.policyOrder)
	for _, a := range cfg.Automations {
		if a.ID.Kind == "" {
			a.ID.Kind = KindAutomation
		}
		_, seen := c.autos[a.ID]
		if err := checkID(a.ID, KindAutomation, seen); err != nil {
			problems = append(problems, err)
			continue
		}
		c.addAutomation(a)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	sortIDs(c.autoOrder)
	c.red = configSecrets(cfg)
	return c, nil
}

// checkID returns the problem of an object's ID, listed among the objects of kind, that
// makes the whole configuration unusable; seen says the ID came before.
func checkID(id ObjectID, kind Kind, seen bool) error {
	switch {
	case id.Name == "":
		return fmt.Errorf("%s object without a name", kind)
	case strings.ContainsAny(id.Name+id.Namespace, "/\x00\n"):
		return fmt.Errorf("%s object %q in namespace %q: names cannot contain slashes or control characters", kind, id.Name, id.Namespace)
	case id.Kind != kind:
		return fmt.Errorf("%s: listed among the %s objects", id, kind)
	case seen:
		return fmt.Errorf("%s: defined twice", id)
	}
	return nil
}

// addRepository adds a repository whose ID is valid, recording the problems of its spec
// in its entry.
func (c *compiled) addRepository(r Repository) {
	e := &repoEntry{cfg: r}
	if img, err := scanner.CanonicalName(r.Scan.Image); err != nil {
		e.err = fmt.Errorf("image: %w", err)
	} else {
		e.image = img
	}
	switch {
	case r.Schedule != "":
		if sch, err := parseSchedule(r.Schedule); err != nil {
			e.err = errors.Join(e.err, err)
		} else {
			e.schedule = sch
		}
	case r.Interval < 0:
		e.err = errors.Join(e.err, fmt.Errorf("negative interval %s", r.Interval))
	case r.Interval == 0:
		e.schedule = every(DefaultInterval)
	default:
		e.schedule = every(r.Interval)
	}
	c.repos[r.ID] = e
	c.repoOrder = append(c.repoOrder, r.ID)
	if e.image != "" {
		c.byImage[e.image] = append(c.byImage[e.image], r.ID)
	}
}

// addPolicy adds a policy whose ID is valid, after every repository, recording the
// problems of its spec in its entry.
func (c *compiled) addPolicy(p Policy) {
	ref := p.Repository
	if ref.Kind == "" {
		ref.Kind = KindRepository
	}
	if ref.Namespace == "" {
		ref.Namespace = p.ID.Namespace
	}
	e := &policyEntry{cfg: p, repo: ref}
	pol, err := policy.New(p.Spec)
	switch {
	case err != nil:
		e.reason, e.err = ReasonInvalidSpec, err
	case p.ReflectDigest != "" && p.ReflectDigest != ReflectNever && p.ReflectDigest != ReflectIfNotPresent && p.ReflectDigest != ReflectAlways:
		e.reason, e.err = ReasonInvalidSpec, fmt.Errorf("digest reflection policy %q: want Never, IfNotPresent or Always", p.ReflectDigest)
	case ref.Kind != KindRepository || c.repos[ref] == nil:
		e.reason, e.err = ReasonRepositoryNotFound, fmt.Errorf("repository %s not found", ref)
	default:
		e.pol = pol
		c.policiesByRepo[ref] = append(c.policiesByRepo[ref], p.ID)
	}
	c.policies[p.ID] = e
	c.policyOrder = append(c.policyOrder, p.ID)
}

// addAutomation adds an automation whose ID is valid, after every policy, recording the
// problems of its spec in its entry.
func (c *compiled) addAutomation(a Automation) {
	e := &autoEntry{cfg: a}
	e.schedule, e.err = automationSchedule(a)
	if e.err == nil {
		e.err = checkGit(a)
	}
	if e.err == nil {
		e.err = compilePush(e)
	}
	if e.err == nil {
		e.err = a.Windows.Check()
	}
	if e.err != nil {
		e.reason = ReasonInvalidSpec
	}
	var missing []string
	e.policies, missing = c.automationPolicies(a)
	if len(missing) > 0 && e.err == nil {
		e.reason, e.err = ReasonPolicyNotFound, fmt.Errorf("policies not found: %v", missing)
	}
	for _, pid := range e.policies {
		c.autosByPolicy[pid] = append(c.autosByPolicy[pid], a.ID)
	}
	c.autos[a.ID] = e
	c.autoOrder = append(c.autoOrder, a.ID)
}

// automationSchedule returns the schedule of an automation: nil when only triggers run it.
func automationSchedule(a Automation) (cron.Schedule, error) {
	switch {
	case a.Schedule != "":
		return parseSchedule(a.Schedule)
	case a.Interval < 0:
		return nil, fmt.Errorf("negative interval %s", a.Interval)
	case a.Interval > 0:
		return every(a.Interval), nil
	}
	return nil, nil
}

// checkGit checks that an automation names a Git remote and branch.
func checkGit(a Automation) error {
	switch {
	case a.Git.URL == "":
		return errors.New("no git URL")
	case a.Git.Branch == "" && a.Git.Checkout.IsZero():
		return errors.New("no git branch")
	}
	return nil
}

// automationPolicies resolves the policies an automation selects: those it lists, in its
// order and once each, or every policy of its namespace when it lists none. missing are
// the listed policies that are not configured.
func (c *compiled) automationPolicies(a Automation) (policies []ObjectID, missing []string) {
	if a.Policies == nil {
		for _, pid := range c.policyOrder {
			if pid.Namespace == a.ID.Namespace {
				policies = append(policies, pid)
			}
		}
		return policies, nil
	}
	for _, pid := range a.Policies {
		if pid.Kind == "" {
			pid.Kind = KindPolicy
		}
		if pid.Namespace == "" {
			pid.Namespace = a.ID.Namespace
		}
		if _, ok := c.policies[pid]; !ok {
			missing = append(missing, pid.String())
			continue
		}
		if !slices.Contains(policies, pid) {
			policies = append(policies, pid)
		}
	}
	return policies, missing
}

func sortIDs(ids []ObjectID) {
	slices.SortFunc(ids, ObjectID.compare)
}

// Apply validates cfg and makes it the engine's configuration, at once and as a whole:
// passes that are running finish with the configuration they started with. A problem with
// one object (a bad policy spec, a policy naming a missing repository, a bad schedule)
// is that object's failure, reported in its status, not an error of Apply; only a
// configuration that cannot be used as a whole (duplicate objects, objects without a name)
// is an error wrapping ErrInvalidConfig, and then the previous configuration stays.
//
// The status of every object that is no longer configured is deleted, and so are the
// cached tags and facts of every image no remaining repository scans. Run picks up the
// change at once: new and changed repositories are scanned, new and changed policies
// evaluated, new and changed automations run.
func (e *Engine) Apply(cfg Config) error {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	old := e.cfg.Load()
	c, err := compile(cfg)
	if err != nil {
		return err
	}
	c.gen = old.gen + 1

	// Forget what changed: a changed policy is evaluated afresh.
	e.polMu.Lock()
	for id, st := range e.polState {
		oe, ne := old.policies[id], c.policies[id]
		if ne == nil {
			delete(e.polState, id)
			continue
		}
		if oe == nil || !reflect.DeepEqual(oe.cfg, ne.cfg) || !reflect.DeepEqual(old.repos[oe.repo], c.repos[ne.repo]) {
			st.revision = ""
		}
	}
	e.polMu.Unlock()
	e.cfg.Store(c)

	var errs []error
	// Statuses of objects that are gone.
	recs, err := e.db.Statuses("")
	if err != nil {
		errs = append(errs, err)
	}
	var removed []Event
	e.stMu.Lock()
	for _, r := range recs {
		id, ok := parseObjectID(r.Key)
		if ok && c.has(id) {
			continue
		}
		if err := e.db.DeleteStatus(r.Key); err != nil {
			errs = append(errs, err)
		}
		if ok && e.statuses != nil {
			delete(e.statuses, id)
		}
		if ok {
			removed = append(removed, Event{Type: EventRemoved, Object: id, Time: e.now().UTC()})
			e.forgetHistory(id)
		}
	}
	e.stMu.Unlock()
	e.events.publish(removed...)
	e.statusVersion.Add(1) // objects came or went
	// Images no repository scans any more (also those of an earlier process's
	// configuration: the store is a cache).
	images, err := e.db.Images()
	if err != nil {
		errs = append(errs, err)
	}
	for _, img := range images {
		if _, still := c.byImage[img]; still {
			continue
		}
		if err := e.db.DeleteImage(img); err != nil {
			errs = append(errs, err)
		}
	}
	if s := e.sched.Load(); s != nil {
		s.poke()
	}
	if len(errs) > 0 {
		// The configuration is in force; only the clean-up failed.
		e.log.Warn("cleaning up after a configuration change", "error", errors.Join(errs...).Error())
	}
	e.log.Info("configuration applied", "repositories", len(c.repos), "policies", len(c.policies), "automations", len(c.autos))
	return nil
}
