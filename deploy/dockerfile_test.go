package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// renderDockerfile returns p's Dockerfile generated from Dockerfile.tmpl.
func renderDockerfile(t *testing.T, p Poller) []byte {
	t.Helper()
	tmpl, err := template.New("Dockerfile.tmpl").Option("missingkey=error").ParseFiles("Dockerfile.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, map[string]string{"Service": p.Service(), "Simulator": p.Simulator(), "Dir": p.Dir()}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDockerfiles checks that every poller's Dockerfile is the one
// Dockerfile.tmpl generates for it (-update rewrites them), and that it
// builds static binaries into distroless nonroot images whose health check
// is the binary's own.
func TestDockerfiles(t *testing.T) {
	for _, p := range Pollers {
		t.Run(p.Service(), func(t *testing.T) {
			file := filepath.Join(root, p.Dir(), "Dockerfile")
			want := renderDockerfile(t, p)
			if *update {
				if err := os.WriteFile(file, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (generate it: go test -run TestDockerfiles -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/Dockerfile differs from the one deploy/Dockerfile.tmpl generates: edit the template and run go test -run TestDockerfiles -update", p.Dir())
			}
			checkDockerfile(t, p, parseDockerfile(t, file))
		})
	}
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case, e.g. "COPY"
	args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	name, image string
	body        []instruction
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	args   map[string]string // ARG defaults before the first FROM
	stages []stage
}

var fromRE = regexp.MustCompile(`^(?:--platform=\S+\s+)?(\S+)(?:\s+(?i:AS)\s+(\S+))?$`)

// parseDockerfile reads the instructions of the Dockerfile at file.
func parseDockerfile(t *testing.T, file string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	df := dockerfile{args: map[string]string{}}
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			m := fromRE.FindStringSubmatch(in.args)
			if m == nil {
				t.Fatalf("%s: cannot parse FROM %s", file, in.args)
			}
			df.stages = append(df.stages, stage{name: m[2], image: os.Expand(m[1], func(k string) string { return df.args[k] })})
		case len(df.stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			df.args[k] = v
		case len(df.stages) > 0:
			s := &df.stages[len(df.stages)-1]
			s.body = append(s.body, in)
		}
	}
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return df
}

// exec returns the JSON (exec form) arguments of the stage's last ins
// instruction, after any --options.
func (s stage) exec(t *testing.T, ins string) []string {
	t.Helper()
	var last string
	for _, in := range s.body {
		if in.cmd == ins {
			last = in.args
		}
	}
	if last == "" {
		t.Errorf("stage %s has no %s", s.name, ins)
		return nil
	}
	for strings.HasPrefix(last, "--") {
		_, last, _ = strings.Cut(last, " ")
		last = strings.TrimSpace(last)
	}
	if ins == "HEALTHCHECK" {
		var ok bool
		if last, ok = strings.CutPrefix(last, "CMD "); !ok {
			t.Errorf("stage %s: HEALTHCHECK %s: want HEALTHCHECK [options] CMD [...]", s.name, last)
			return nil
		}
	}
	var argv []string
	if err := json.Unmarshal([]byte(last), &argv); err != nil || len(argv) == 0 {
		t.Errorf("stage %s: %s %s: want the exec form [\"/path\", ...]: the image has no shell", s.name, ins, last)
		return nil
	}
	return argv
}

// copied reports whether the stage copies a file to the absolute path p.
func (s stage) copied(p string) bool {
	for _, in := range s.body {
		if in.cmd != "COPY" {
			continue
		}
		f := strings.Fields(in.args)
		if len(f) < 2 {
			continue
		}
		dst := f[len(f)-1]
		for _, src := range f[:len(f)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if dst == p || (strings.HasSuffix(dst, "/") && dst+path.Base(src) == p) {
				return true
			}
		}
	}
	return false
}

// has reports whether some instruction ins of the stage contains s.
func (s stage) has(ins, sub string) bool {
	for _, in := range s.body {
		if in.cmd == ins && strings.Contains(in.args, sub) {
			return true
		}
	}
	return false
}

const distroless = "gcr.io/distroless/static-debian12:nonroot"

// checkDockerfile checks the rules every poller image follows.
func checkDockerfile(t *testing.T, p Poller, df dockerfile) {
	t.Helper()
	stages := map[string]stage{}
	for _, s := range df.stages {
		stages[s.name] = s
		ref := s.image
		if _, digest, ok := strings.Cut(ref, "@"); ok {
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("FROM %s: bad digest", ref)
			}
			continue
		}
		tag := ""
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			tag = ref[i+1:]
		}
		if tag == "" || tag == "latest" {
			t.Errorf("FROM %s: pin the base image by tag", ref)
		}
	}
	build, ok := stages["build"]
	if !ok {
		t.Fatal("no build stage")
	}
	checkGoVersion(t, p, build.image)
	if !build.has("ENV", "CGO_ENABLED=0") {
		t.Error("build stage: want ENV CGO_ENABLED=0 (a static binary for distroless/static)")
	}
	if !build.has("RUN", "go build -trimpath") {
		t.Error("build stage: want go build -trimpath")
	}
	last := df.stages[len(df.stages)-1]
	if last.name != "poller" {
		t.Errorf("the last (default) stage is %q, want poller", last.name)
	}
	for _, name := range []string{"poller", "simulator"} {
		s, ok := stages[name]
		if !ok {
			t.Errorf("no %s stage", name)
			continue
		}
		if s.image != distroless {
			t.Errorf("stage %s is FROM %s, want %s", name, s.image, distroless)
		}
		if !s.has("USER", "65532") {
			t.Errorf("stage %s: want USER 65532:65532 (distroless nonroot, numeric for runAsNonRoot)", name)
		}
		entry := s.exec(t, "ENTRYPOINT")
		check := s.exec(t, "HEALTHCHECK")
		if entry == nil || check == nil {
			continue
		}
		for _, bin := range []string{entry[0], check[0]} {
			if !s.copied(bin) {
				t.Errorf("stage %s runs %s, which it does not COPY", name, bin)
			}
		}
		switch name {
		case "poller":
			if want := "/usr/local/bin/" + p.Service(); entry[0] != want {
				t.Errorf("poller ENTRYPOINT runs %s, want %s", entry[0], want)
			}
			if len(check) != 2 || check[0] != entry[0] || check[1] != "-healthcheck" {
				t.Errorf("poller HEALTHCHECK %q, want [%s -healthcheck]", check, entry[0])
			}
		case "simulator":
			if want := "/usr/local/bin/" + p.Simulator(); entry[0] != want {
				t.Errorf("simulator ENTRYPOINT runs %s, want %s", entry[0], want)
			}
			addr := flagValue(entry[1:], "addr")
			u, err := url.Parse(check[len(check)-1])
			if err != nil || addr == "" || u.Port() != strings.TrimPrefix(addr, ":") {
				t.Errorf("simulator HEALTHCHECK %q does not ask the port of -addr %q", check, addr)
			}
		}
	}
}

// checkGoVersion checks that the build image is golang:<version>-... with
// a Go release at least as new as every module the image compiles
// requires (the build runs with GOTOOLCHAIN=local).
func checkGoVersion(t *testing.T, p Poller, image string) {
	t.Helper()
	tag, ok := strings.CutPrefix(image, "golang:")
	version, _, _ := strings.Cut(tag, "-")
	have := versionNumbers(version)
	if !ok || have == nil {
		t.Errorf("build stage is FROM %s, want golang:<go version>-<variant>", image)
		return
	}
	for _, dir := range []string{p.Dir(), "shared", "schemas", "deploy"} {
		data, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s/go.mod has no go directive", dir)
		}
		if slices.Compare(have, versionNumbers(string(m[1]))) < 0 {
			t.Errorf("build stage runs Go %s, older than the go %s that %s/go.mod requires", version, m[1], dir)
		}
	}
}

// versionNumbers returns the numbers of a Go version such as 1.26.8, or nil.
func versionNumbers(v string) []int {
	var out []int
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// flagValue returns the value of -name in args, written "-name value" or
// "-name=value".
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v
		}
		if a == "-"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// TestDockerignore checks that .dockerignore lets through every file an
// image build needs (the Go files of every package it compiles, their
// embedded files, the module files, every COPY source) and keeps the rest
// of the repository out of the build context.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(rel string) bool {
		ex, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	for _, p := range Pollers {
		need := goFiles(t, p.Dir(), ".", "./cmd/"+p.Simulator())
		need = append(need, goFiles(t, "deploy", "./cmd/httpcheck")...)
		for _, in := range parseDockerfile(t, filepath.Join(root, p.Dir(), "Dockerfile")).stages[0].body {
			if in.cmd != "COPY" || strings.Contains(in.args, "--from") {
				continue
			}
			f := strings.Fields(in.args)
			for _, src := range f[:len(f)-1] {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s/Dockerfile: COPY %s: %v", p.Dir(), src, err)
				}
				need = append(need, strings.TrimSuffix(src, "/"))
			}
		}
		for _, rel := range need {
			if excluded(rel) {
				t.Errorf(".dockerignore excludes %s, which the %s build needs", rel, p.Service())
			}
		}
	}
	for _, rel := range []string{".git/HEAD", "bin/poller-plm", "k8s/base/kustomization.yaml", "deploy/deploy_test.go", "docker-compose.yml", "shared/config/config_test.go", "shared/serde/testdata/x.json", "services/poller-plm/poller-plm.test"} {
		if !excluded(rel) {
			t.Errorf(".dockerignore lets %s into the build context; no image needs it", rel)
		}
	}
}

// goFiles returns, relative to the repository root, the files that
// building pkgs of the module in dir needs outside the workspace
// (GOWORK=off, as the Dockerfiles build): every Go and embedded file of
// every non-standard package, and each module's go.mod and go.sum. It fails
// when the module does not build on its own (a go.sum that lacks entries).
func goFiles(t *testing.T, dir string, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{if .Module}} ::{{.Module.Dir}}{{end}}{{end}}`}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join(root, dir)
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("in %s: go %s: %v\n%s", dir, strings.Join(args, " "), err, stderr)
	}
	seen := map[string]bool{}
	var files []string
	add := func(abs string) {
		rel, err := filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") || seen[rel] {
			return // a module from the module cache
		}
		seen[rel] = true
		files = append(files, rel)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line, modDir, _ := strings.Cut(line, " ::")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, name := range f[1:] {
			add(filepath.Join(f[0], name))
		}
		if modDir != "" {
			for _, name := range []string{"go.mod", "go.sum"} {
				if _, err := os.Stat(filepath.Join(modDir, name)); err == nil {
					add(filepath.Join(modDir, name))
				}
			}
		}
	}
	if len(files) == 0 {
		t.Fatalf("in %s: go list found no files of %q", dir, pkgs)
	}
	return files
}
