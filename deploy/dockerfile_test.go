package deploy_test

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, USER, ...
	args string
	line int
}

// stage is one FROM and the instructions after it.
type stage struct {
	from  string
	name  string
	instr []instruction
}

// parseDockerfile reads ../Dockerfile into its stages. It knows what this Dockerfile uses:
// comments, backslash continuations, and one instruction per logical line.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatalf("the repository's Dockerfile: %v", err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start, n := 0, 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			s := stage{}
			for i := 0; i < len(fields); i++ {
				switch {
				case strings.HasPrefix(fields[i], "--"):
				case strings.EqualFold(fields[i], "AS") && i+1 < len(fields):
					s.name = fields[i+1]
					i++
				case s.from == "":
					s.from = fields[i]
				}
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			return
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	return stages
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// TestDockerfileFinalStage: the image runs /tagflow controller as a numeric non-root user,
// on a base without a shell or a package manager.
func TestDockerfileFinalStage(t *testing.T) {
	stages := parseDockerfile(t)
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want a distroless static image or scratch", final.from)
	}
	users := final.find("USER")
	if len(users) == 0 {
		t.Fatalf("final stage has no USER: the image would run as root")
	}
	user := users[len(users)-1]
	uid, gid, _ := strings.Cut(user.args, ":")
	for what, id := range map[string]string{"user": uid, "group": gid} {
		if id == "" && what == "group" {
			continue
		}
		n, err := strconv.Atoi(id)
		if err != nil || n == 0 {
			t.Errorf("Dockerfile:%d: USER %s: the %s must be numeric and not 0 (Kubernetes checks runAsNonRoot against numeric IDs only)", user.line, user.args, what)
		}
	}
	if uid != "65532" {
		t.Errorf("Dockerfile:%d: USER %s, want 65532, the user of deploy/'s securityContext", user.line, user.args)
	}
	execForm := func(cmd string, want []string) {
		t.Helper()
		ins := final.find(cmd)
		if len(ins) == 0 {
			t.Errorf("final stage has no %s", cmd)
			return
		}
		var got []string
		if err := json.Unmarshal([]byte(ins[len(ins)-1].args), &got); err != nil {
			t.Errorf("Dockerfile:%d: %s %s is not in exec (JSON) form: %v", ins[len(ins)-1].line, cmd, ins[len(ins)-1].args, err)
			return
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("Dockerfile:%d: %s %q, want %q", ins[len(ins)-1].line, cmd, got, want)
		}
	}
	execForm("ENTRYPOINT", []string{"/tagflow"})
	execForm("CMD", []string{"controller"})
	for _, in := range final.find("COPY") {
		if !strings.Contains(in.args, "--from=") {
			t.Errorf("Dockerfile:%d: the final stage copies %q from the build context, not from the build stage", in.line, in.args)
		}
	}
}

var goVersionRE = regexp.MustCompile(`(?m)^go (\d+\.\d+)`)

// buildLikeDockerfile runs the Dockerfile's `go build` line as it is written, for this
// machine's platform, with the build argument VERSION, and returns the binary. It checks
// that the build stage's Go is go.mod's and that the line has the flags of a static,
// stripped, reproducible build.
func buildLikeDockerfile(t *testing.T, version string) string {
	t.Helper()
	stages := parseDockerfile(t)
	build := stages[0]
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := goVersionRE.FindSubmatch(gomod); m == nil || build.from != "golang:"+string(m[1]) {
		t.Errorf("build stage FROM %s, want golang:<go.mod's go version> (%s)", build.from, m)
	}
	var line string
	for _, in := range build.find("RUN") {
		if strings.Contains(in.args, "go build") {
			line = in.args
		}
	}
	if line == "" {
		t.Fatal("the build stage has no RUN with go build")
	}
	// Drop RUN's own flags (--mount=...), keeping the shell command.
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	command := strings.Join(fields, " ")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=$VERSION"} {
		if !strings.Contains(command, want) {
			t.Errorf("the build command lacks %s: %s", want, command)
		}
	}
	const out = "-o /out/tagflow"
	if !strings.Contains(command, out) {
		t.Fatalf("the build command does not write %s (the final stage copies it): %s", out, command)
	}
	bin := filepath.Join(t.TempDir(), "tagflow")
	command = strings.Replace(command, out, "-o "+bin, 1)
	// The build reads the module's sources in another process: read them here too, so that
	// go test's cache reruns this test when they change.
	readTree(t, "..", func(path string) bool {
		base := filepath.Base(path)
		return strings.HasSuffix(base, ".go") || base == "go.mod" || base == "go.sum"
	})

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "VERSION="+version, "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, b)
	}
	return bin
}

// TestDockerfileBuildsStaticBinary builds the binary as the Dockerfile does and checks that
// it is static, stripped, carries the version given as a build argument, and has every flag
// the manifests pass to `tagflow controller`.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/tagflow")
	}
	const version = "v0.0.0-dockerfile-test"
	bin := buildLikeDockerfile(t, version)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %s program header: it is not static", bin, p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s imports libraries %v (%v)", bin, libs, err)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: -s did not strip it", bin)
	}
	if ldd, err := exec.LookPath("ldd"); err == nil {
		b, _ := exec.CommandContext(ctx, ldd, bin).CombinedOutput()
		if !strings.Contains(string(b), "not a dynamic executable") && !strings.Contains(string(b), "statically linked") {
			t.Errorf("ldd %s: %s", bin, b)
		}
	}
	b, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(b), version) {
		t.Errorf("%s version: %v: %s (want %s)", bin, err, b, version)
	}
	help, err := exec.CommandContext(ctx, bin, "controller", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("tagflow controller --help: %v\n%s", err, help)
	}
	for _, f := range controllerFlags {
		if !regexp.MustCompile(`(?m)^\s+(-\w, )?--` + regexp.QuoteMeta(f) + `\b`).Match(help) {
			t.Errorf("tagflow controller has no flag --%s, which deploy/ and the chart may pass:\n%s", f, help)
		}
	}
}
