package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOverridesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Overrides(); err != nil || len(got) != 0 {
		t.Fatalf("Overrides of a new store = %v, %v; want none", got, err)
	}
	at := time.Date(2026, 12, 3, 8, 40, 0, 0, time.UTC)
	suspended := Override{Suspend: true, Reason: "release freeze", Time: at}
	for _, k := range []string{"ImageUpdateAutomation/apps/fleet", "ImageRepository/apps/web"} {
		if err := db.PutOverride(k, suspended); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteOverride("ImageRepository/apps/web"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOverride("ImagePolicy/apps/none"); err != nil {
		t.Errorf("deleting an override that does not exist: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{}) // Open checks the framing of every override
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Overrides()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Override{"ImageUpdateAutomation/apps/fleet": suspended}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Overrides after reopening (-want +got):\n%s", diff)
	}
}

func TestPutOverrideRejects(t *testing.T) {
	db := openTemp(t)
	for name, tc := range map[string]struct {
		key string
		o   Override
	}{
		"empty key":      {"", Override{Suspend: true}},
		"control in key": {"ImagePolicy/a\nb", Override{Suspend: true}},
		"control reason": {"ImagePolicy/a/b", Override{Suspend: true, Reason: "a\x1b[31m"}},
		"long reason":    {"ImagePolicy/a/b", Override{Suspend: true, Reason: string(make([]byte, MaxOverrideReasonLen+1))}},
	} {
		if err := db.PutOverride(tc.key, tc.o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
