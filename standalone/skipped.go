package standalone

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
)

// ReasonNotLoaded is the reason of an object skipped when the objects were loaded: a
// document that does not parse, an object defined twice, a field or secret refused.
const ReasonNotLoaded = "NotLoaded"

// KindFile names, in the status, a document whose object could not be told (it does not
// parse, is not of a kind tagflow reads, or has a field that does not decode): its name is
// FILE:LINE.
const KindFile automation.Kind = "file"

// skippedObjects are the objects the last load skipped, shown by `tagflow status` beside the
// engine's objects. version moves with every change, for the snapshot loop.
type skippedObjects struct {
	mu      sync.Mutex
	list    []automation.ObjectStatus
	version atomic.Uint64
}

// set replaces the list with the problems of a load of dir (LoadConfig's error), as of now.
func (k *skippedObjects) set(dir string, problems error, now time.Time) {
	list := skippedStatuses(dir, problems, now)
	k.mu.Lock()
	defer k.mu.Unlock()
	// Keep when each problem was first seen, as a status keeps its last transition.
	since := map[automation.ObjectID]time.Time{}
	for _, s := range k.list {
		since[s.ID] = s.LastTransition
	}
	for i := range list {
		if t, ok := since[list[i].ID]; ok {
			list[i].LastTransition = t
		}
	}
	k.list = list
	k.version.Add(1)
}

// get returns the list (not to be modified).
func (k *skippedObjects) get() []automation.ObjectStatus {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.list
}

// skippedStatuses turns each problem joined in err into the status of the object it skipped:
// not ready, reason NotLoaded, the problem as message. A document whose object cannot be told
// is named by its file, relative to the loaded dir, and line.
func skippedStatuses(dir string, err error, now time.Time) []automation.ObjectStatus {
	var out []automation.ObjectStatus
	for _, p := range leaves(err) {
		// The message starts with FILE:LINE; FILE is said from the loaded dir, as the row is.
		msg := strings.TrimPrefix(p.Error(), strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
		st := automation.ObjectStatus{Reason: ReasonNotLoaded, Message: msg, LastTransition: now, UpdatedAt: now}
		var oe *convert.ObjectError
		var de *load.DuplicateError
		var doc *load.DocumentError
		switch {
		case errors.As(p, &oe):
			st.ID = automation.ObjectID{Kind: automation.Kind(oe.Kind), Namespace: oe.Namespace, Name: oe.Name}
		case errors.As(p, &de):
			st.ID = automation.ObjectID{Kind: automation.Kind(de.Key.Kind), Namespace: de.Key.Namespace, Name: de.Key.Name}
		case errors.As(p, &doc) && doc.Object.Kind != "":
			st.ID = automation.ObjectID{Kind: automation.Kind(doc.Object.Kind), Namespace: doc.Object.Namespace, Name: doc.Object.Name}
		case errors.As(p, &doc):
			file := doc.File
			if rel, err := filepath.Rel(dir, file); err == nil && rel != "." && filepath.IsAbs(file) == filepath.IsAbs(dir) {
				file = filepath.ToSlash(rel)
			} else if err == nil && rel == "." {
				file = filepath.Base(file) // dir is the file itself
			}
			st.ID = automation.ObjectID{Kind: KindFile, Name: file + ":" + strconv.Itoa(doc.Line)}
		default:
			st.ID = automation.ObjectID{Kind: KindFile, Name: "?"}
		}
		out = append(out, st)
	}
	return out
}

// leaves flattens errors joined (at any depth) by errors.Join into the single problems.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// Skipped returns the statuses of the objects the last load skipped (reason NotLoaded).
func (s *Service) Skipped() []automation.ObjectStatus { return slices.Clone(s.skipped.get()) }
