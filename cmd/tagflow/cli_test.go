package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// run executes the CLI as main does and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = executeIO(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// testRegistry starts an in-process registry holding repo with the given tags and returns
// the repository's name (host:port/repo).
func testRegistry(t *testing.T, repo string, tags ...string) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/" + repo
	for _, tag := range tags {
		tagRef, err := name.NewTag(ref + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tagRef, img); err != nil {
			t.Fatalf("seeding %s: %v", tagRef, err)
		}
	}
	return ref
}

func TestLatest(t *testing.T) {
	dir := t.TempDir()
	tagsFile := filepath.Join(dir, "tags.txt")
	if err := os.WriteFile(tagsFile, []byte("# comment\n1.0.0\n  1.2.0  \n\nv1.3.0-rc.1\n2.0.0\nmain-20240101\nmain-20240315\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string // substring of stderr
	}{
		{name: "semver range", args: []string{"--tags-from", tagsFile, "--semver", "^1.0"}, wantOut: "1.2.0\n"},
		{name: "semver with prereleases", args: []string{"--tags-from", tagsFile, "--semver", ">=1.0.0-0 <2"}, wantOut: "v1.3.0-rc.1\n"},
		{name: "default is highest stable", args: []string{"--tags-from", tagsFile}, wantOut: "2.0.0\n"},
		{name: "alphabetical asc", args: []string{"--tags-from", tagsFile, "--alphabetical", "asc"}, wantOut: "v1.3.0-rc.1\n"},
		{name: "alphabetical desc", args: []string{"--tags-from", tagsFile, "--alphabetical", "desc"}, wantOut: "1.0.0\n"},
		{name: "filter and extract", args: []string{"--tags-from", tagsFile, "--filter-tags", `^main-(?P<ts>\d+)$`, "--extract", "$ts", "--numerical", "asc"}, wantOut: "main-20240315\n"},
		{name: "stdin", stdin: "3.0.0\n3.1.0\n", args: []string{"--tags-from", "-", "--semver", "~3.0"}, wantOut: "3.0.0\n"},
		{name: "no match names source and counts", args: []string{"--tags-from", tagsFile, "--semver", "^9"}, wantCode: exitFailure, wantErr: tagsFile + ": no tag matches"},
		{name: "missing file", args: []string{"--tags-from", filepath.Join(dir, "nope.txt")}, wantCode: exitFailure, wantErr: "nope.txt"},
		{name: "bad range is usage", args: []string{"--tags-from", tagsFile, "--semver", "^^1"}, wantCode: exitUsage, wantErr: `"^^1"`},
		{name: "bad order is usage", args: []string{"--tags-from", tagsFile, "--numerical", "up"}, wantCode: exitUsage, wantErr: `"up"`},
		{name: "two orderings", args: []string{"--tags-from", tagsFile, "--semver", "*", "--alphabetical", "asc"}, wantCode: exitUsage, wantErr: "exclude each other"},
		{name: "extract without filter", args: []string{"--tags-from", tagsFile, "--extract", "$ts"}, wantCode: exitUsage, wantErr: "--extract needs --filter-tags"},
		{name: "neither image nor file", args: []string{"--semver", "*"}, wantCode: exitUsage, wantErr: "either IMAGE or --tags-from"},
		{name: "both image and file", args: []string{"nginx", "--tags-from", tagsFile}, wantCode: exitUsage, wantErr: "either IMAGE or --tags-from"},
		{name: "unknown flag", args: []string{"--tags-from", tagsFile, "--newest"}, wantCode: exitUsage, wantErr: "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.stdin, append([]string{"latest"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit status = %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if diff := cmp.Diff(tc.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if tc.wantErr == "" && errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
			if tc.wantErr != "" {
				if !strings.Contains(errOut, tc.wantErr) {
					t.Errorf("stderr = %q, want it to contain %q", errOut, tc.wantErr)
				}
				if strings.Count(errOut, "\n") != 1 {
					t.Errorf("stderr = %q, want exactly one line", errOut)
				}
			}
		})
	}
}

func TestScanAndLatestFromRegistry(t *testing.T) {
	repo := testRegistry(t, "shop/web", "1.0.0", "1.1.0", "2.0.0-rc.1", "sha256-abc.sig")

	code, out, errOut := run(t, "", "scan", repo)
	if code != exitOK {
		t.Fatalf("scan exit status %d: %s", code, errOut)
	}
	// The registry lists tags in lexical order; the signature tag is excluded by default.
	if diff := cmp.Diff("1.0.0\n1.1.0\n2.0.0-rc.1\n", out); diff != "" {
		t.Errorf("scan output (-want +got):\n%s", diff)
	}

	code, out, errOut = run(t, "", "latest", repo, "--semver", "^1")
	if code != exitOK {
		t.Fatalf("latest exit status %d: %s", code, errOut)
	}
	if out != "1.1.0\n" {
		t.Errorf("latest = %q, want 1.1.0", out)
	}
}

func TestScanErrors(t *testing.T) {
	repo := testRegistry(t, "shop/web", "1.0.0")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no image", args: []string{"scan"}, wantCode: exitUsage, wantErr: "accepts 1 arg"},
		{name: "missing docker config", args: []string{"scan", repo, "--docker-config", "/nonexistent/config.json"}, wantCode: exitUsage, wantErr: "/nonexistent/config.json"},
		{name: "unknown repository", args: []string{"scan", repo + "-missing"}, wantCode: exitFailure, wantErr: repo + "-missing"},
		{name: "invalid name", args: []string{"scan", "Not A Repo"}, wantCode: exitFailure, wantErr: "Not A Repo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit status = %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing on failure", out)
			}
			if !strings.Contains(errOut, tc.wantErr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", errOut, tc.wantErr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != exitOK || !strings.HasPrefix(out, "tagflow ") {
		t.Errorf("version: status %d, output %q", code, out)
	}
}

// buildBinary builds cmd/tagflow into a temporary directory as the Dockerfile and `make vet`
// compile it (CGO_ENABLED=0, -trimpath), so that the three share their packages in the build
// cache.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "tagflow")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryExitStatus checks the exit statuses of the CLI contract on the built binary.
func TestBinaryExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	tags := filepath.Join(t.TempDir(), "tags.txt")
	if err := os.WriteFile(tags, []byte("1.0.0\n1.4.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"latest", "--tags-from", tags}, exitOK},
		{[]string{"latest", "--tags-from", tags, "--semver", "^2"}, exitFailure},
		{[]string{"latest", "--tags-from", tags, "--bogus"}, exitUsage},
		{[]string{"no-such-command"}, exitUsage},
	}
	for _, tc := range tests {
		cmd := exec.Command(bin, tc.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("tagflow %s: exit status %d, want %d (stderr %q)", strings.Join(tc.args, " "), code, tc.want, stderr.String())
		}
		if code != exitOK && (stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1) {
			t.Errorf("tagflow %s: stdout %q stderr %q, want nothing on stdout and one line on stderr", strings.Join(tc.args, " "), stdout.String(), stderr.String())
		}
		if code == exitOK && stdout.String() != "1.4.2\n" {
			t.Errorf("tagflow %s: stdout %q, want 1.4.2", strings.Join(tc.args, " "), stdout.String())
		}
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := run(t, "", "demo")
	if code != exitOK {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"== 4. A pass", "== 6. The next pass", "no commit", "automation/deploy  true"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
