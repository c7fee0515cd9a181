package standalone

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/store"
)

// apply applies the configuration the object files define, with the overrides kept in the
// store ("tagflow suspend") laid over it, and remembers it for the next override.
func (s *Service) apply(cfg automation.Config) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.applyLocked(cfg)
}

// loadedConfig is the configuration as the object files define it, before overrides.
func (s *Service) loadedConfig() automation.Config {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.loaded
}

func (s *Service) applyLocked(cfg automation.Config) error {
	ov, err := s.store.DB.Overrides()
	if err != nil {
		return err
	}
	if err := s.Engine.Apply(withOverrides(cfg, ov)); err != nil {
		return err
	}
	s.loaded = cfg
	return nil
}

// withOverrides returns cfg with each object that has a suspending override suspended, its
// SuspendReason saying by whom, when and why. cfg itself is left as it is.
func withOverrides(cfg automation.Config, ov map[string]store.Override) automation.Config {
	if len(ov) == 0 {
		return cfg
	}
	out := automation.Config{
		Repositories: slices.Clone(cfg.Repositories),
		Policies:     slices.Clone(cfg.Policies),
		Automations:  slices.Clone(cfg.Automations),
	}
	for i := range out.Repositories {
		r := &out.Repositories[i]
		if o, ok := ov[r.ID.String()]; ok && o.Suspend {
			r.Suspend, r.SuspendReason = true, overrideReason(o)
		}
	}
	for i := range out.Policies {
		p := &out.Policies[i]
		if o, ok := ov[p.ID.String()]; ok && o.Suspend {
			p.Suspend, p.SuspendReason = true, overrideReason(o)
		}
	}
	for i := range out.Automations {
		a := &out.Automations[i]
		if o, ok := ov[a.ID.String()]; ok && o.Suspend {
			a.Suspend, a.SuspendReason = true, overrideReason(o)
		}
	}
	return out
}

// overrideReason is how a suspension from "tagflow suspend" reads in the status message:
// "by tagflow suspend at 2026-12-03T08:40:00Z: release freeze".
func overrideReason(o store.Override) string {
	s := "by tagflow suspend at " + o.Time.UTC().Format(time.RFC3339)
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	return s
}

// ParseKind reads a KIND argument: repository, policy or automation, or the full kind
// names (ImageRepository, ImagePolicy, ImageUpdateAutomation), in any case.
func ParseKind(s string) (automation.Kind, error) {
	switch strings.ToLower(s) {
	case "repository", "imagerepository":
		return automation.KindRepository, nil
	case "policy", "imagepolicy":
		return automation.KindPolicy, nil
	case "automation", "imageupdateautomation":
		return automation.KindAutomation, nil
	}
	return "", fmt.Errorf("kind %q: want repository, policy or automation", s)
}

// find resolves id among the objects the files define: an empty Namespace matches the one
// object of that kind and name in any namespace. It returns the object's full ID and
// whether its definition suspends it.
func find(cfg automation.Config, dir string, id automation.ObjectID) (automation.ObjectID, bool, error) {
	type obj struct {
		id      automation.ObjectID
		suspend bool
	}
	var all []obj
	switch id.Kind {
	case automation.KindRepository:
		for _, r := range cfg.Repositories {
			all = append(all, obj{r.ID, r.Suspend})
		}
	case automation.KindPolicy:
		for _, p := range cfg.Policies {
			all = append(all, obj{p.ID, p.Suspend})
		}
	case automation.KindAutomation:
		for _, a := range cfg.Automations {
			all = append(all, obj{a.ID, a.Suspend})
		}
	}
	var found []obj
	for _, o := range all {
		if o.id.Name == id.Name && (id.Namespace == "" || o.id.Namespace == id.Namespace) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 1:
		return found[0].id, found[0].suspend, nil
	case 0:
		if id.Namespace == "" {
			return id, false, failf(http.StatusNotFound, "no %s named %s among the objects in %s", id.Kind, id.Name, dir)
		}
		return id, false, failf(http.StatusNotFound, "no %s among the objects in %s", id, dir)
	}
	var ns []string
	for _, o := range found {
		ns = append(ns, o.id.Namespace)
	}
	return id, false, failf(http.StatusBadRequest, "%s %s is in namespaces %s; give -n NAMESPACE", id.Kind, id.Name, strings.Join(ns, ", "))
}
