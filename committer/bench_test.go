package committer_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

const (
	benchFiles   = 10_000
	benchCommits = 5_000
	benchDirs    = 100
)

// fastImportStream writes a git fast-import stream for a repository with benchFiles files
// spread over benchDirs directories and benchCommits commits on main: the first adds every
// file, each later one changes one file.
func fastImportStream() *bytes.Buffer {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	data := func(s string) { fmt.Fprintf(w, "data %d\n%s\n", len(s), s) }
	file := func(i int) string { return fmt.Sprintf("apps/d%03d/app-%05d.yaml", i%benchDirs, i) }
	content := func(i, version int) string {
		return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%05d\nspec:\n  image: registry.example.com/app-%05d:1.%d.0\n", i, i, version)
	}
	ts := int64(1_700_000_000)
	for c := 1; c <= benchCommits; c++ {
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\ncommitter Seed <seed@example.com> %d +0000\n", c, ts+int64(c))
		data(fmt.Sprintf("commit %d", c))
		if c > 1 {
			fmt.Fprintf(w, "from :%d\n", c-1)
		}
		if c == 1 {
			for i := range benchFiles {
				fmt.Fprintf(w, "M 100644 inline %s\n", file(i))
				data(content(i, 0))
			}
			fmt.Fprintf(w, "M 100644 inline target/app.yaml\n")
			data("image: nginx:1.0.0\n")
		} else {
			i := (c * 7919) % benchFiles
			fmt.Fprintf(w, "M 100644 inline %s\n", file(i))
			data(content(i, c))
		}
		w.WriteString("\n")
	}
	w.Flush()
	return &buf
}

// BenchmarkRunLargeRepo measures a first run (clone + commit + push) and a later run that
// changes one line, against a remote with 10,000 files and 5,000 commits. The update path
// is either a small directory (the usual case) or the whole repository, which makes every
// run compare all 10,000 files.
func BenchmarkRunLargeRepo(b *testing.B) {
	pw := randomSecret(b)
	srv := testbed.StartGitServer(b, testbed.GitServerOptions{Username: testUser, Password: pw})
	gitDir := srv.InitBare(b, "big", "main")
	start := time.Now()
	testbed.FastImport(b, gitDir, fastImportStream())
	testbed.Git(b, gitDir, "repack", "-a", "-d", "-q")
	b.Logf("built remote: %d files, %d commits in %v", benchFiles+1, benchCommits, time.Since(start).Round(time.Millisecond))

	for _, bc := range []struct{ name, path, file string }{
		{"path=target", "target", "app.yaml"},
		{"path=.", ".", "target/app.yaml"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := func(value string) committer.Request {
				return committer.Request{
					Automation:  committer.AutomationObject{Namespace: "bench", Name: "big"},
					URL:         srv.RepoURL("big"),
					Auth:        committer.Auth{Username: testUser, Password: pw},
					Branch:      "main",
					Path:        bc.path,
					Update:      setLine(bc.file, "image", value),
					Author:      committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
					MaxAttempts: 1,
				}
			}
			benchmarkFirstAndLater(b, srv, req)
		})
	}
}

func benchmarkFirstAndLater(b *testing.B, srv *testbed.GitServer, req func(value string) committer.Request) {
	var (
		firstTime, laterTime                      time.Duration
		firstDown, firstUp, laterDown, laterUp, n int64
		firstRequests, laterRequests              int64
	)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := committer.New(committer.Options{Dir: filepath.Join(b.TempDir(), "git")})
		if err != nil {
			b.Fatal(err)
		}
		srv.ResetCounters()
		t0 := time.Now()
		res, err := c.Run(ctx, req(fmt.Sprintf("nginx:2.%d.%d", i, time.Now().UnixNano())))
		if err != nil {
			b.Fatal(err)
		}
		firstTime += time.Since(t0)
		if !res.Cloned || !res.Pushed {
			b.Fatalf("first run = %+v, want a clone and a push", res)
		}
		up, down, reqs := srv.Transferred()
		firstUp, firstDown, firstRequests = firstUp+up, firstDown+down, firstRequests+reqs

		srv.ResetCounters()
		t1 := time.Now()
		res, err = c.Run(ctx, req(fmt.Sprintf("nginx:3.%d.%d", i, time.Now().UnixNano())))
		if err != nil {
			b.Fatal(err)
		}
		laterTime += time.Since(t1)
		if res.Cloned || !res.Pushed {
			b.Fatalf("later run = %+v, want a push without a clone", res)
		}
		up, down, reqs = srv.Transferred()
		laterUp, laterDown, laterRequests = laterUp+up, laterDown+down, laterRequests+reqs
		n++
	}
	b.StopTimer()
	b.ReportMetric(float64(firstTime.Milliseconds())/float64(n), "first-ms/op")
	b.ReportMetric(float64(laterTime.Milliseconds())/float64(n), "later-ms/op")
	b.ReportMetric(float64(laterTime)/float64(firstTime)*100, "later/first-%")
	b.ReportMetric(float64(firstDown)/float64(n), "first-down-B/op")
	b.ReportMetric(float64(firstUp)/float64(n), "first-up-B/op")
	b.ReportMetric(float64(laterDown)/float64(n), "later-down-B/op")
	b.ReportMetric(float64(laterUp)/float64(n), "later-up-B/op")
	b.ReportMetric(float64(firstRequests)/float64(n), "first-reqs/op")
	b.ReportMetric(float64(laterRequests)/float64(n), "later-reqs/op")
}
