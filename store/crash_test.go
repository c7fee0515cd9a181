package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const crashImage = "ghcr.io/example/crash"

// generation returns the tag set the writer helper stores in generation g: large enough
// that a commit writes many pages, and different in every generation.
func generation(g int) []string {
	return realisticTags(rand.New(rand.NewPCG(uint64(g), 99)), 3000)
}

func generationTime(g int) time.Time { return t0.Add(time.Duration(g) * time.Second) }

// helperWrite stores generation after generation, printing "committed G" after each
// commit, until it is killed.
func helperWrite(path string) error {
	start, err := strconv.Atoi(os.Getenv("TAGFLOW_STORE_GEN"))
	if err != nil {
		return err
	}
	db, err := Open(path, Options{})
	if err != nil {
		return err
	}
	for g := start; ; g++ {
		tags := generation(g)
		if _, err := db.PutTags(crashImage, tags, generationTime(g)); err != nil {
			return err
		}
		if err := db.PutFacts(crashImage, tags[g%len(tags)], fmt.Sprintf("sha256:%064d", g), generationTime(g), nil); err != nil {
			return err
		}
		fmt.Printf("committed %d\n", g)
	}
}

// TestKillDuringWrite kills a writing process with SIGKILL at a random moment, several
// times over the same file, and checks each time that the file opens without being found
// corrupt and holds one of the committed states.
func TestKillDuringWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	rng := rand.New(rand.NewPCG(1, 2))
	next := 0 // the first generation the next writer stores
	for round := range 4 {
		t.Setenv("TAGFLOW_STORE_GEN", strconv.Itoa(next))
		cmd, out, _ := helperStart(t, "write", path)
		last := -1
		stop := next + 2 + rng.IntN(6)
		for last < stop {
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatalf("round %d: writer output: %q, %v", round, line, err)
			}
			if last, err = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "committed ")); err != nil {
				t.Fatalf("round %d: writer said %q", round, line)
			}
		}
		// Let it get into the next write, then kill it.
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		var logs bytes.Buffer
		db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		if logs.Len() != 0 {
			t.Errorf("round %d: Open after kill logged %s", round, logs.String())
		}
		got, err := db.FirstSeen(crashImage)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// The writer may have committed generation last+1 before it printed it.
		g := last
		if got.Revision != revisionString(revisionOf(generation(g))) {
			g = last + 1
		}
		if diff := cmp.Diff(generation(g), got.Tags); diff != "" {
			t.Fatalf("round %d: tags are neither generation %d nor %d (-want %d +got):\n%s", round, last, last+1, g, diff)
		}
		info, err := db.ScanInfo(crashImage)
		if err != nil {
			t.Fatal(err)
		}
		if !info.LastSuccess.Equal(generationTime(g)) || info.TagCount != len(got.Tags) {
			t.Errorf("round %d: scan info %+v does not match generation %d", round, info, g)
		}
		for i, tag := range got.Tags {
			if _, ok := got.FirstSeen(tag); !ok || got.Times[i].After(generationTime(g)) {
				t.Fatalf("round %d: tag %s first seen %v, after generation %d", round, tag, got.Times[i], g)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		next = g + 1
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 0 {
		t.Errorf("a killed writer left a file Open found corrupt: %q", m)
	}
}
