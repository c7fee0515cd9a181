package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccept: the tags Accept rejects are skipped, best first, with its reason; the next
// best wins; a hold still applies; every tag rejected is ErrNoMatch naming the rejections;
// Accept's error fails the selection.
func TestAccept(t *testing.T) {
	p, err := New(Spec{SemVer: ">=1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}
	var asked []string
	unsigned := map[string]bool{"1.3.0": true, "1.2.0": true}
	accept := func(tag string) (string, error) {
		asked = append(asked, tag)
		if unsigned[tag] {
			return "unsigned: no cosign signature", nil
		}
		return "", nil
	}
	res, err := p.Select(tags, Inputs{Accept: accept})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tag != "1.1.0" {
		t.Errorf("winner %q; want 1.1.0", res.Tag)
	}
	if diff := cmp.Diff([]string{"1.3.0", "1.2.0", "1.1.0"}, asked); diff != "" {
		t.Errorf("Accept asked (-want +got):\n%s", diff)
	}
	want := []Skip{{Tag: "1.3.0", Reason: "unsigned: no cosign signature"}, {Tag: "1.2.0", Reason: "unsigned: no cosign signature"}}
	if diff := cmp.Diff(want, res.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	if got := res.Skipped[0].String(); got != "1.3.0 skipped: unsigned: no cosign signature" {
		t.Errorf("Skip.String() = %q", got)
	}

	none := func(string) (string, error) { return "signed by another key", nil }
	_, err = p.Select(tags, Inputs{Accept: none})
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "4 were rejected (1.3.0 skipped: signed by another key;") {
		t.Errorf("every tag rejected: %v", err)
	}

	boom := errors.New("registry unavailable")
	_, err = p.Select(tags, Inputs{Accept: func(string) (string, error) { return "", boom }})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `checking tag "1.3.0"`) {
		t.Errorf("Accept failing: %v", err)
	}
}
