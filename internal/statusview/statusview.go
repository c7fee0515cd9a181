// Package statusview prints objects' statuses as the table `tagflow status` shows, the same
// in the demo, in `tagflow reconcile` and in real runs: one row per object, the object named
// once, digests and commits shortened, and every row cut to fit a terminal of Width columns.
package statusview

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/tagflow/tagflow/automation"
)

// Width is the number of columns the table's rows fit in.
const Width = 120

// Table writes one row per status: [NAMESPACE] OBJECT READY REASON UPDATED DETAIL, OBJECT
// being KIND/NAME with the kind as the CLI names it (repository, policy, automation);
// NAMESPACE is left out when every object is in the same one. Each row fits in Width
// columns: DETAIL is cut (with "…") to the room left, and when names are so long that less
// than minDetail columns are left, they are cut too. Times are said relative to now.
func Table(w io.Writer, st []automation.ObjectStatus, now time.Time) error {
	const minDetail = 40
	namespaces := map[string]bool{}
	for _, s := range st {
		if s.ID.Namespace != "" { // a file that could not be loaded has none
			namespaces[s.ID.Namespace] = true
		}
	}
	withNS := len(namespaces) > 1
	rows := make([][]string, 0, len(st)+1)
	header := []string{"OBJECT", "READY", "REASON", "UPDATED", "DETAIL"}
	if withNS {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows = append(rows, header)
	for _, s := range st {
		r := []string{Object(s.ID), fmt.Sprint(s.Ready), s.Reason, Age(s.UpdatedAt, now), Detail(s, now)}
		if withNS {
			r = append([]string{s.ID.Namespace}, r...)
		}
		rows = append(rows, r)
	}
	last := len(header) - 1
	widths := make([]int, last)
	used := 0
	for col := range widths {
		for _, r := range rows {
			widths[col] = max(widths[col], utf8.RuneCountInString(r[col]))
		}
		used += widths[col] + 2 // tabwriter's padding
	}
	if over := used + minDetail - Width; over > 0 {
		// Cut the names (object, then namespace) so that the detail keeps minDetail columns.
		names := []int{0}
		if withNS {
			names = []int{1, 0}
		}
		for _, col := range names {
			cut := min(over, widths[col]-16)
			if cut <= 0 {
				continue
			}
			widths[col] -= cut
			used -= cut
			over -= cut
			for _, r := range rows {
				r[col] = Cut(r[col], widths[col])
			}
		}
	}
	room := max(Width-used, minDetail)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		r[last] = Cut(r[last], room)
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Object is "repository/NAME", "policy/NAME" or "automation/NAME"; other kinds in lower
// case ("provider/NAME", "alert/NAME").
func Object(id automation.ObjectID) string {
	kind := map[automation.Kind]string{
		automation.KindRepository: "repository",
		automation.KindPolicy:     "policy",
		automation.KindAutomation: "automation",
	}[id.Kind]
	if kind == "" {
		kind = strings.ToLower(string(id.Kind)) // provider, alert, file
	}
	return kind + "/" + id.Name
}

// Wide writes every status with its whole detail and message (when it says more than the
// detail), the full object name and the last transition.
func Wide(w io.Writer, st []automation.ObjectStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tREADY\tREASON\tUPDATED\tSINCE\tDETAIL\tMESSAGE")
	for _, s := range st {
		detail, message := Detail(s, now), oneLine(strings.TrimPrefix(s.Message, s.ID.String()+": "))
		if message == detail {
			message = "" // a failure's message is its detail already
		}
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Ready, s.Reason, Ago(s.UpdatedAt, now),
			Ago(s.LastTransition, now), detail, message)
	}
	return tw.Flush()
}

// Detail is the one fact that matters most for the object's kind, or its message (without
// the object's name, which the row has) when it is not ready.
func Detail(s automation.ObjectStatus, now time.Time) string {
	message := oneLine(strings.TrimPrefix(s.Message, s.ID.String()+": "))
	if !s.Ready && s.Message != "" {
		return message
	}
	switch s.ID.Kind {
	case automation.KindRepository:
		return fmt.Sprintf("%d tags of %s", s.TagCount, s.Image)
	case automation.KindPolicy:
		if s.LatestRef == "" {
			return message
		}
		d := Tag(s.LatestRef)
		if s.PreviousRef != "" && s.PreviousRef != s.LatestRef {
			prev, _, _ := strings.Cut(Tag(s.PreviousRef), "@")
			d += " (was " + prev + ")"
		}
		return d
	case automation.KindAutomation:
		if s.Reason == automation.ReasonOutsideWindow {
			return message // what waits, and for which window, in the window's zone
		}
		detail := "nothing pushed yet"
		if s.LastPushCommit != "" {
			detail = fmt.Sprintf("pushed %s to %s %s ago", ShortSHA(s.LastPushCommit), s.LastPushBranch, Age(s.LastPushTime, now))
		}
		if !s.NextWindow.IsZero() {
			detail += "; next update window " + s.NextWindow.UTC().Format(time.RFC3339)
		}
		return detail
	}
	return message
}

// Tag is the tag of a reference NAME:TAG[@DIGEST] (a registry's port is part of NAME), with
// its digest cut to 12 hex digits; a reference by digest only is its cut digest.
func Tag(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		tag = name[i+1:]
	}
	if !hasDigest {
		if tag == "" {
			return ref
		}
		return tag
	}
	if algo, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
		digest = algo + ":" + hex[:12]
	}
	if tag == "" {
		return "@" + digest
	}
	return tag + "@" + digest
}

// ShortSHA is a commit hash's first 12 digits.
func ShortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Ago is how long before now t was ("3m20s ago"), or "-" for the zero time.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

// Age is how long before now t was, as kubectl says an age: "40s", "3m", "5h", "2d"; "-"
// for the zero time.
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// Cut shortens s to at most n characters, ending it with "…" when it was longer.
func Cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
