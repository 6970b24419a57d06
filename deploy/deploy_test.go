package deploy

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite each poller's Dockerfile from Dockerfile.tmpl")

// root is the repository root: the tests run in deploy/.
var root = func() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}()

// binDir holds the binaries built for the tests; TestMain creates and
// removes it.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "auditstream-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built records the one build of every poller and simulator binary.
var built struct {
	once sync.Once
	err  error
}

// binary returns the path of the built binary name (a poller or a
// simulator of Pollers). The first call builds them all with one go build.
func binary(t *testing.T, name string) string {
	t.Helper()
	built.once.Do(func() {
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		for _, p := range Pollers {
			args = append(args, "./"+p.Dir(), "./"+p.Dir()+"/cmd/"+p.Simulator())
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(binDir, name)
}

// variable is one environment variable a poller declares, as its -env
// flag prints it.
type variable struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Default  string `json:"default"`
	Required bool   `json:"required"`
	Secret   bool   `json:"secret"`
	// FileOf names the secret that this <NAME>_FILE variable holds a path to.
	FileOf string `json:"file_of"`
}

// declared caches the variables of each poller.
var declared struct {
	mu   sync.Mutex
	vars map[string]map[string]variable
}

// variables returns the variables service declares (service -env), by name.
func variables(t *testing.T, service string) map[string]variable {
	t.Helper()
	declared.mu.Lock()
	defer declared.mu.Unlock()
	if v, ok := declared.vars[service]; ok {
		return v
	}
	out, err := exec.Command(binary(t, service), "-env").Output()
	if err != nil {
		t.Fatalf("%s -env: %v", service, err)
	}
	var list []variable
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("%s -env: decode: %v", service, err)
	}
	if len(list) == 0 {
		t.Fatalf("%s -env declares no variable", service)
	}
	vars := make(map[string]variable, len(list))
	for _, v := range list {
		vars[v.Name] = v
	}
	if declared.vars == nil {
		declared.vars = map[string]map[string]variable{}
	}
	declared.vars[service] = vars
	return vars
}

// pollerEnv is the environment of one poller container as a deployment
// file gives it.
type pollerEnv struct {
	// where names the deployment file and object, for messages.
	where string
	// service is the poller, e.g. "poller-plm".
	service string
	// env is every variable the container gets.
	env map[string]string
	// files maps each mounted file the variables may name (a path in the
	// container) to a local file with its content, or with stand-in
	// content when the deployment only references the Secret.
	files map[string]string
}

// value returns the variable's value in the container: as set, else its
// declared default.
func (e pollerEnv) value(t *testing.T, name string) string {
	if v, ok := e.env[name]; ok {
		return v
	}
	return variables(t, e.service)[name].Default
}

// checkPollerEnv checks that every variable of e is one the poller
// declares (or OpenTelemetry's), that no secret is given as a value rather
// than a mounted file, that every required variable is set, and that the
// poller accepts the whole configuration: -healthcheck loads and validates
// it first and exits 2 when it is invalid.
func checkPollerEnv(t *testing.T, e pollerEnv) {
	t.Helper()
	vars := variables(t, e.service)
	for _, name := range sortedKeys(e.env) {
		value := e.env[name]
		v, ok := vars[name]
		switch {
		case !ok && strings.HasPrefix(name, "OTEL_"):
			// Read by the OpenTelemetry SDK, not declared by the poller.
		case !ok:
			t.Errorf("%s sets %s, which %s does not declare (%s -env lists its variables)", e.where, name, e.service, e.service)
		case v.Secret && value != "":
			t.Errorf("%s sets the secret %s as a value; mount it as a file and set %s_FILE", e.where, name, name)
		case v.FileOf != "" && value != "":
			if _, ok := e.files[value]; !ok {
				t.Errorf("%s sets %s=%s, which is not a file of a mounted secret", e.where, name, value)
			}
		}
	}
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if !v.Required || e.env[name] != "" {
			continue
		}
		if v.Secret && e.env[name+"_FILE"] != "" {
			continue
		}
		t.Errorf("%s does not set %s, which %s requires", e.where, name, e.service)
	}

	env := make([]string, 0, len(e.env))
	for name, value := range e.env {
		if local, ok := e.files[value]; ok {
			value = local
		}
		env = append(env, name+"="+value)
	}
	cmd := exec.Command(binary(t, e.service), "-healthcheck")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		// Something answered /readyz on HTTP_ADDR: the configuration loaded.
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		// Not ready (nothing runs here): the configuration loaded.
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		t.Errorf("%s: %s rejects the configuration:\n%s", e.where, e.service, out)
	default:
		t.Errorf("%s: %s -healthcheck: %v\n%s", e.where, e.service, err, out)
	}
}

// destination is a host and port a poller connects to.
type destination struct {
	setting string // the variable that names it
	host    string
	port    int
}

// destinations returns every host a poller with environment e connects to:
// the Kafka brokers, the Schema Registry and every http(s) URL among its
// declared settings (the vendor's API and token endpoints).
func destinations(t *testing.T, e pollerEnv) []destination {
	t.Helper()
	var out []destination
	for _, b := range strings.Split(e.value(t, "KAFKA_BROKERS"), ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(b))
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			t.Errorf("%s: KAFKA_BROKERS entry %q is not host:port", e.where, b)
			continue
		}
		out = append(out, destination{"KAFKA_BROKERS", host, n})
	}
	vars := variables(t, e.service)
	for _, name := range sortedKeys(vars) {
		if !strings.HasSuffix(name, "_URL") || vars[name].Type != "string" {
			continue
		}
		raw := e.value(t, name)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Errorf("%s: %s=%q is not an http(s) URL", e.where, name, raw)
			continue
		}
		out = append(out, destination{name, u.Hostname(), urlPort(u)})
	}
	return out
}

// urlPort returns u's port, or its scheme's default.
func urlPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// addrPort returns the port of a listen address such as ":8080".
func addrPort(t *testing.T, where, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n == 0 {
		t.Fatalf("%s: HTTP_ADDR %q has no fixed port", where, addr)
	}
	return n
}

// simulatorFlags returns the flags the simulator binary accepts, from its
// -h output.
func simulatorFlags(t *testing.T, simulator string) map[string]bool {
	t.Helper()
	cmd := exec.Command(binary(t, simulator), "-h")
	out, _ := cmd.CombinedOutput() // -h exits 0 or 2 depending on the flag package's mode
	flags := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-") {
			continue
		}
		name, _, _ := strings.Cut(line[1:], " ")
		flags[name] = true
	}
	if len(flags) == 0 {
		t.Fatalf("%s -h lists no flags:\n%s", simulator, out)
	}
	return flags
}

// checkSimulatorArgs checks that every argument is a flag the simulator
// accepts, written -name=value.
func checkSimulatorArgs(t *testing.T, where, simulator string, args []string) {
	t.Helper()
	known := simulatorFlags(t, simulator)
	for _, a := range args {
		name, _, ok := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !ok {
			t.Errorf("%s: simulator argument %q: write each as -flag=value", where, a)
			continue
		}
		if !known[name] {
			t.Errorf("%s: %s has no flag -%s (%s -h lists them)", where, simulator, name, simulator)
		}
	}
}

// sortedKeys returns m's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestPollersCovered checks that Pollers lists exactly the pollers under
// services/ (a directory with main.go) and that each has its simulator.
func TestPollersCovered(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join(root, "services", "poller-*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, m := range mains {
		found = append(found, strings.TrimPrefix(filepath.Base(filepath.Dir(m)), "poller-"))
	}
	var listed []string
	for _, p := range Pollers {
		listed = append(listed, p.Vendor)
		sim := filepath.Join(root, p.Dir(), "cmd", p.Simulator(), "main.go")
		if _, err := os.Stat(sim); err != nil {
			t.Errorf("poller %s: no simulator: %v", p.Vendor, err)
		}
	}
	sort.Strings(found)
	sort.Strings(listed)
	for _, v := range found {
		if !slices.Contains(listed, v) {
			t.Errorf("services/poller-%s has no deployment: add it to Pollers in deploy/doc.go and follow the steps there", v)
		}
	}
	for _, v := range listed {
		if !slices.Contains(found, v) {
			t.Errorf("Pollers lists %s, but services/poller-%s/main.go does not exist", v, v)
		}
	}
}
