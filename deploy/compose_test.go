package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// Compose services the tests know by role.
const (
	kafkaService    = "kafka"
	registryService = "schema-registry"
	collectorName   = "otel-collector"
	prometheusName  = "prometheus"
	observability   = "observability"
	// tracesEndpoint is the OTLP endpoint docker-compose.yml and the README
	// tell users to set with the observability profile.
	tracesEndpoint = "http://otel-collector:4318/v1/traces"
)

// loadCompose loads docker-compose.yml as Docker Compose does, with only
// env as the environment (no .env file, nothing from the test's process).
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(list),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml with profiles %q: %v", profiles, err)
	}
	return p
}

// composeEnv returns a service's environment, unset variables dropped.
func composeEnv(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// TestComposeLoads checks that docker-compose.yml loads with compose-go,
// with and without the observability profile, and that every file it
// names exists: build contexts, Dockerfiles and their targets, bind
// mounts and secret files.
func TestComposeLoads(t *testing.T) {
	t.Parallel()
	plain := loadCompose(t, nil)
	full := loadCompose(t, nil, observability)
	for _, name := range []string{collectorName, prometheusName} {
		if _, ok := plain.Services[name]; ok {
			t.Errorf("%s runs without the %s profile", name, observability)
		}
		if _, ok := full.Services[name]; !ok {
			t.Errorf("%s does not run with the %s profile", name, observability)
		}
	}
	for _, name := range sortedKeys(full.Services) {
		s := full.Services[name]
		if s.Image == "" {
			t.Errorf("service %s: no image name", name)
		}
		if s.Build != nil {
			ctx := absIn(full.WorkingDir, s.Build.Context)
			if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
				t.Errorf("service %s: build context %s is not a directory", name, s.Build.Context)
				continue
			}
			file := absIn(ctx, s.Build.Dockerfile)
			if _, err := os.Stat(file); err != nil {
				t.Errorf("service %s: %v", name, err)
				continue
			}
			if s.Build.Target != "" && !slices.ContainsFunc(parseDockerfile(t, file).stages, func(st stage) bool { return st.name == s.Build.Target }) {
				t.Errorf("service %s: %s has no stage %q", name, s.Build.Dockerfile, s.Build.Target)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(absIn(full.WorkingDir, v.Source)); err != nil {
					t.Errorf("service %s: bind mount: %v", name, err)
				}
			}
		}
	}
	for name, sec := range full.Secrets {
		if _, err := os.Stat(absIn(full.WorkingDir, sec.File)); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
}

// absIn returns p, made absolute relative to dir.
func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// composeStack is docker-compose.yml as the checks read it.
type composeStack struct {
	p        *types.Project
	broker   broker
	registry int // the port the registry listens on
}

// aliases returns the names other containers reach service s by.
func (c composeStack) aliases(name string) []string {
	s := c.p.Services[name]
	out := []string{name}
	if s.Hostname != "" {
		out = append(out, s.Hostname)
	}
	return out
}

// simulatorPort returns the port a simulator service listens on: the -addr
// of its image's ENTRYPOINT unless its command sets another.
func simulatorPort(t *testing.T, p Poller, command []string) int {
	t.Helper()
	df := parseDockerfile(t, filepath.Join(root, p.Dir(), "Dockerfile"))
	var entry []string
	for _, s := range df.stages {
		if s.name == "simulator" {
			entry = s.exec(t, "ENTRYPOINT")
		}
	}
	addr := flagValue(command, "addr")
	if addr == "" && len(entry) > 0 {
		addr = flagValue(entry[1:], "addr")
	}
	return addrPort(t, p.Simulator()+" -addr", addr)
}

// TestComposeStack checks docker-compose.yml as a working system: Kafka
// in KRaft mode with listeners for the containers and for the host, the
// registry on it, every poller and simulator hardened, configured with
// variables the poller declares and validates, depending on healthy
// services for every host it connects to, and health checks that ask the
// right process on the right port.
func TestComposeStack(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	c := composeStack{p: p}

	kafka, ok := p.Services[kafkaService]
	if !ok {
		t.Fatalf("no %s service", kafkaService)
	}
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") {
		t.Errorf("kafka image %s, want apache/kafka:<version>", kafka.Image)
	}
	kenv := composeEnv(kafka)
	c.broker = checkKafkaEnv(t, "docker-compose.yml kafka", kenv)
	checkKafkaHostListener(t, kafka, c.broker)
	if !slices.ContainsFunc(kafka.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == kenv["KAFKA_LOG_DIRS"] }) {
		t.Errorf("kafka: KAFKA_LOG_DIRS %s is not a mounted volume", kenv["KAFKA_LOG_DIRS"])
	}

	reg, ok := p.Services[registryService]
	if !ok {
		t.Fatalf("no %s service", registryService)
	}
	if !strings.HasPrefix(reg.Image, "confluentinc/cp-schema-registry:") {
		t.Errorf("registry image %s, want confluentinc/cp-schema-registry:<version>", reg.Image)
	}
	c.registry = checkRegistryEnv(t, "docker-compose.yml schema-registry", composeEnv(reg), c.broker, c.aliases(kafkaService))
	checkPublished(t, reg, "8081", c.registry)
	checkDependsHealthy(t, p, registryService, kafkaService)

	for _, name := range sortedKeys(p.Services) {
		checkComposeHealthcheck(t, c, name)
	}

	metricsPorts := map[string]string{}
	for _, pl := range Pollers {
		t.Run(pl.Service(), func(t *testing.T) {
			checkComposePoller(t, c, pl, metricsPorts)
		})
	}
}

// checkKafkaHostListener checks that the host reaches the broker at
// 127.0.0.1:9092 (as with `make demo`): a listener advertised as
// 127.0.0.1:9092 or localhost:9092 whose port is published on host port 9092.
func checkKafkaHostListener(t *testing.T, kafka types.ServiceConfig, b broker) {
	t.Helper()
	for name, adv := range b.advertised {
		host, port, _ := net.SplitHostPort(adv)
		if (host == "127.0.0.1" || host == "localhost") && port == "9092" {
			checkPublished(t, kafka, "9092", b.bind[name])
			return
		}
	}
	t.Errorf("kafka: no listener advertised as 127.0.0.1:9092 for clients on the host (advertised: %v)", b.advertised)
}

// checkPublished checks that s publishes host port published on 127.0.0.1
// (or every address) to container port target.
func checkPublished(t *testing.T, s types.ServiceConfig, published string, target int) {
	t.Helper()
	for _, p := range s.Ports {
		if p.Published == published && int(p.Target) == target && (p.HostIP == "" || p.HostIP == "127.0.0.1") {
			return
		}
	}
	t.Errorf("service %s does not publish host port %s to its port %d (ports: %+v)", s.Name, published, target, s.Ports)
}

// checkDependsHealthy checks that service waits for dep to be healthy.
func checkDependsHealthy(t *testing.T, p *types.Project, service, dep string) {
	t.Helper()
	d, ok := p.Services[service].DependsOn[dep]
	if !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("service %s: want depends_on %s with condition service_healthy", service, dep)
	}
}

var urlRE = regexp.MustCompile(`https?://[^\s"']+`)

// checkComposeHealthcheck checks that the health check of service name, if
// any, is complete and asks the service itself: a poller its own
// -healthcheck, a simulator httpcheck on its port, Kafka an advertised
// listener, and any other HTTP check a port the container serves.
func checkComposeHealthcheck(t *testing.T, c composeStack, name string) {
	t.Helper()
	s := c.p.Services[name]
	for dep, d := range s.DependsOn {
		if d.Condition == types.ServiceConditionHealthy {
			if hc := c.p.Services[dep].HealthCheck; hc == nil || hc.Disable || len(hc.Test) == 0 {
				t.Errorf("service %s waits for %s to be healthy, which has no health check", name, dep)
			}
		}
	}
	hc := s.HealthCheck
	if hc == nil || hc.Disable {
		return
	}
	if len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
		t.Errorf("service %s: health check %q: want CMD or CMD-SHELL and a command", name, hc.Test)
		return
	}
	if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
		t.Errorf("service %s: health check: set interval, timeout, retries and start_period", name)
	}
	cmd := strings.Join(hc.Test[1:], " ")
	for _, pl := range Pollers {
		switch name {
		case pl.Service():
			if want := []string{"CMD", "/usr/local/bin/" + pl.Service(), "-healthcheck"}; !slices.Equal(hc.Test, want) {
				t.Errorf("service %s: health check %q, want %q", name, hc.Test, want)
			}
			return
		case pl.Simulator():
			port := simulatorPort(t, pl, s.Command)
			u, err := url.Parse(urlRE.FindString(cmd))
			if hc.Test[1] != "/usr/local/bin/httpcheck" || err != nil || u.Port() != strconv.Itoa(port) || !isLoopback(u.Hostname()) {
				t.Errorf("service %s: health check %q, want httpcheck on http://127.0.0.1:%d/", name, hc.Test, port)
			}
			return
		}
	}
	if name == kafkaService {
		m := regexp.MustCompile(`--bootstrap-server\s+(\S+)`).FindStringSubmatch(cmd)
		if !strings.Contains(cmd, "kafka-broker-api-versions.sh") || m == nil || !c.broker.reaches(m[1], c.aliases(kafkaService)) {
			t.Errorf("service kafka: health check %q: want kafka-broker-api-versions.sh --bootstrap-server on an advertised listener", cmd)
		}
		return
	}
	raw := urlRE.FindString(cmd)
	if raw == "" {
		t.Errorf("service %s: health check %q asks no URL", name, cmd)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !isLoopback(u.Hostname()) || !slices.ContainsFunc(s.Ports, func(p types.ServicePortConfig) bool { return strconv.Itoa(int(p.Target)) == u.Port() }) {
		t.Errorf("service %s: health check asks %s, not a port the container serves", name, raw)
	}
}

// isLoopback reports whether host names the container itself.
func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost"
}

// checkComposePoller checks poller pl's services in docker-compose.yml.
func checkComposePoller(t *testing.T, c composeStack, pl Poller, metricsPorts map[string]string) {
	svc, ok := c.p.Services[pl.Service()]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %s", pl.Service())
	}
	sim, ok := c.p.Services[pl.Simulator()]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %s", pl.Simulator())
	}
	for _, s := range []struct {
		cfg    types.ServiceConfig
		image  string
		target string
	}{{svc, pl.Service(), ""}, {sim, pl.Simulator(), "simulator"}} {
		b := s.cfg.Build
		if b == nil || filepath.Clean(absIn(c.p.WorkingDir, b.Context)) != root || filepath.ToSlash(b.Dockerfile) != pl.Dir()+"/Dockerfile" || b.Target != s.target {
			t.Errorf("service %s: want build context . (the repository root), dockerfile %s/Dockerfile, target %q", s.cfg.Name, pl.Dir(), s.target)
		}
		if name, _, _ := strings.Cut(s.cfg.Image, ":"); name != "auditstream/"+s.image {
			t.Errorf("service %s: image %s, want auditstream/%s:<tag> (as make images tags it)", s.cfg.Name, s.cfg.Image, s.image)
		}
		if !s.cfg.ReadOnly || !slices.Equal(s.cfg.CapDrop, []string{"ALL"}) || !slices.Contains(s.cfg.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("service %s: want read_only, cap_drop [ALL] and security_opt no-new-privileges:true", s.cfg.Name)
		}
	}
	checkSimulatorArgs(t, "docker-compose.yml "+pl.Simulator(), pl.Simulator(), sim.Command)

	e := pollerEnv{where: "docker-compose.yml " + pl.Service(), service: pl.Service(), env: composeEnv(svc), files: map[string]string{}}
	for _, ref := range svc.Secrets {
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		if !filepath.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		sec, ok := c.p.Secrets[ref.Source]
		if !ok || sec.File == "" {
			t.Errorf("service %s: secret %s is not a file of docker-compose.yml's secrets", pl.Service(), ref.Source)
			continue
		}
		e.files[target] = absIn(c.p.WorkingDir, sec.File)
	}
	checkPollerEnv(t, e)

	// Every host the poller connects to is a service of the stack, serving
	// that port, and the poller waits for it to be healthy.
	simPort := simulatorPort(t, pl, sim.Command)
	checked := map[string]bool{}
	for _, d := range destinations(t, e) {
		var ok bool
		var dep string
		switch {
		case d.setting == "KAFKA_BROKERS":
			dep = kafkaService
			ok = c.broker.reaches(net.JoinHostPort(d.host, strconv.Itoa(d.port)), c.aliases(kafkaService))
		case slices.Contains(c.aliases(registryService), d.host):
			dep, ok = registryService, d.port == c.registry
		case slices.Contains(c.aliases(pl.Simulator()), d.host):
			dep, ok = pl.Simulator(), d.port == simPort
		}
		if !ok {
			t.Errorf("%s: %s points at %s:%d, which no service of the stack serves", e.where, d.setting, d.host, d.port)
			continue
		}
		if !checked[dep] {
			checked[dep] = true
			checkDependsHealthy(t, c.p, pl.Service(), dep)
		}
	}

	port := addrPort(t, e.where, e.value(t, "HTTP_ADDR"))
	var published string
	for _, p := range svc.Ports {
		if int(p.Target) == port {
			published = p.Published
		}
	}
	if published == "" {
		t.Errorf("%s: /metrics (port %d) is not published to the host", e.where, port)
	} else if other, ok := metricsPorts[published]; ok {
		t.Errorf("%s and %s both publish host port %s", other, pl.Service(), published)
	} else {
		metricsPorts[published] = pl.Service()
	}
}

// TestComposeObservability checks the observability profile: Prometheus
// scrapes every poller's /metrics on its HTTP_ADDR port, and the traces
// endpoint the documentation gives reaches the collector's OTLP receiver.
func TestComposeObservability(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": tracesEndpoint}, observability)

	var prom struct {
		ScrapeConfigs []struct {
			MetricsPath   string `json:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	readYAML(t, filepath.Join(root, "deploy", "observability", "prometheus.yml"), &prom)
	targets := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			continue
		}
		for _, s := range sc.StaticConfigs {
			for _, tg := range s.Targets {
				targets[tg] = true
			}
		}
	}
	for _, pl := range Pollers {
		svc := p.Services[pl.Service()]
		env := composeEnv(svc)
		if got := env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]; got != tracesEndpoint {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=%q, want it taken from the environment (%s)", pl.Service(), got, tracesEndpoint)
		}
		httpAddr := env["HTTP_ADDR"]
		if httpAddr == "" {
			httpAddr = variables(t, pl.Service())["HTTP_ADDR"].Default
		}
		target := net.JoinHostPort(pl.Service(), strconv.Itoa(addrPort(t, pl.Service(), httpAddr)))
		if !targets[target] {
			t.Errorf("prometheus.yml does not scrape %s/metrics", target)
		}
	}

	var col struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `json:"endpoint"`
					} `json:"http"`
				} `json:"protocols"`
			} `json:"otlp"`
		} `json:"receivers"`
		Service struct {
			Pipelines map[string]struct {
				Receivers []string `json:"receivers"`
				Exporters []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	readYAML(t, filepath.Join(root, "deploy", "observability", "otel-collector.yaml"), &col)
	u, _ := url.Parse(tracesEndpoint)
	_, port, err := net.SplitHostPort(col.Receivers.OTLP.Protocols.HTTP.Endpoint)
	if err != nil || port != u.Port() {
		t.Errorf("the collector's OTLP/HTTP receiver listens on %q, not on the port of %s", col.Receivers.OTLP.Protocols.HTTP.Endpoint, tracesEndpoint)
	}
	if _, ok := p.Services[u.Hostname()]; !ok {
		t.Errorf("%s names %s, which is not a service of the %s profile", tracesEndpoint, u.Hostname(), observability)
	}
	traces := col.Service.Pipelines["traces"]
	if !slices.Contains(traces.Receivers, "otlp") || len(traces.Exporters) == 0 {
		t.Errorf("the collector has no traces pipeline from the otlp receiver to an exporter")
	}
}

// readYAML decodes the YAML file into v, rejecting unknown fields of v's
// structure only where v declares them.
func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
