package deploy

import (
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// broker is what a single apache/kafka container's environment says about
// its listeners.
type broker struct {
	// bind maps each listener name to the port it binds.
	bind map[string]int
	// advertised maps each advertised listener name to its host:port.
	advertised map[string]string
}

// checkKafkaEnv checks the environment of an apache/kafka container for a
// consistent single-node KRaft setup (broker and controller in one
// process) and returns its listeners.
func checkKafkaEnv(t *testing.T, where string, env map[string]string) broker {
	t.Helper()
	get := func(name string) string {
		v, ok := env[name]
		if !ok || v == "" {
			t.Errorf("%s: %s is not set", where, name)
		}
		return v
	}
	b := broker{bind: map[string]int{}, advertised: map[string]string{}}
	for _, l := range splitList(get("KAFKA_LISTENERS")) {
		name, hostPort, ok := cutListener(l)
		_, port, err := net.SplitHostPort(hostPort)
		n, perr := strconv.Atoi(port)
		if !ok || err != nil || perr != nil {
			t.Errorf("%s: KAFKA_LISTENERS entry %q is not NAME://host:port", where, l)
			continue
		}
		for other, p := range b.bind {
			if p == n {
				t.Errorf("%s: listeners %s and %s both bind port %d", where, other, name, n)
			}
		}
		b.bind[name] = n
	}
	for _, l := range splitList(get("KAFKA_ADVERTISED_LISTENERS")) {
		name, hostPort, ok := cutListener(l)
		host, _, err := net.SplitHostPort(hostPort)
		if !ok || err != nil || host == "" {
			t.Errorf("%s: KAFKA_ADVERTISED_LISTENERS entry %q is not NAME://host:port with a host", where, l)
			continue
		}
		if _, ok := b.bind[name]; !ok {
			t.Errorf("%s: listener %s is advertised but not in KAFKA_LISTENERS", where, name)
		}
		b.advertised[name] = hostPort
	}
	protocols := map[string]string{}
	for _, m := range splitList(get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")) {
		name, proto, _ := strings.Cut(m, ":")
		protocols[name] = proto
	}
	for name := range b.bind {
		if protocols[name] == "" {
			t.Errorf("%s: listener %s has no entry in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", where, name)
		}
	}
	roles := splitList(get("KAFKA_PROCESS_ROLES"))
	if !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		t.Errorf("%s: KAFKA_PROCESS_ROLES=%v, want broker,controller (KRaft, one node)", where, roles)
	}
	controller := get("KAFKA_CONTROLLER_LISTENER_NAMES")
	cport, ok := b.bind[controller]
	if !ok {
		t.Errorf("%s: controller listener %q is not in KAFKA_LISTENERS", where, controller)
	}
	if _, ok := b.advertised[controller]; ok {
		t.Errorf("%s: the controller listener %s must not be advertised to clients", where, controller)
	}
	delete(b.advertised, controller)
	voters := splitList(get("KAFKA_CONTROLLER_QUORUM_VOTERS"))
	if len(voters) != 1 {
		t.Errorf("%s: KAFKA_CONTROLLER_QUORUM_VOTERS=%v, want this node alone", where, voters)
	} else {
		id, hostPort, _ := strings.Cut(voters[0], "@")
		_, port, err := net.SplitHostPort(hostPort)
		if id != get("KAFKA_NODE_ID") || err != nil || port != strconv.Itoa(cport) {
			t.Errorf("%s: voter %q: want %s@host:%d (KAFKA_NODE_ID and the controller listener)", where, voters[0], env["KAFKA_NODE_ID"], cport)
		}
	}
	inter := get("KAFKA_INTER_BROKER_LISTENER_NAME")
	if _, ok := b.advertised[inter]; !ok {
		t.Errorf("%s: inter-broker listener %q is not advertised", where, inter)
	}
	id, err := base64.RawURLEncoding.DecodeString(get("CLUSTER_ID"))
	if err != nil || len(id) != 16 {
		t.Errorf("%s: CLUSTER_ID %q is not a base64url UUID (kafka-storage.sh random-uuid)", where, env["CLUSTER_ID"])
	}
	// Internal topics default to 3 replicas, which one broker cannot hold.
	for _, name := range []string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"} {
		if v := get(name); v != "1" {
			t.Errorf("%s: %s=%q, want 1 on a single node", where, name, v)
		}
	}
	get("KAFKA_LOG_DIRS")
	return b
}

// reaches reports whether a client inside the network bootstrapping from
// hostPort reaches a listener of b: hostPort is one advertised address,
// whose host names the broker (one of aliases) and whose port is the one
// the listener binds.
func (b broker) reaches(hostPort string, aliases []string) bool {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || !slices.Contains(aliases, host) {
		return false
	}
	for name, adv := range b.advertised {
		if adv == hostPort && strconv.Itoa(b.bind[name]) == port {
			return true
		}
	}
	return false
}

// cutListener splits "NAME://host:port".
func cutListener(l string) (name, hostPort string, ok bool) {
	return strings.Cut(l, "://")
}

// checkRegistryEnv checks the environment of a cp-schema-registry
// container: where it listens, and that it stores its schemas in b
// (reached as one of aliases). It returns the port it listens on.
func checkRegistryEnv(t *testing.T, where string, env map[string]string, b broker, aliases []string) int {
	t.Helper()
	if env["SCHEMA_REGISTRY_HOST_NAME"] == "" {
		t.Errorf("%s: SCHEMA_REGISTRY_HOST_NAME is not set", where)
	}
	if _, ok := env["SCHEMA_REGISTRY_PORT"]; ok {
		t.Errorf("%s: SCHEMA_REGISTRY_PORT is refused by the image; use SCHEMA_REGISTRY_LISTENERS", where)
	}
	listeners := splitList(env["SCHEMA_REGISTRY_LISTENERS"])
	if len(listeners) != 1 {
		t.Fatalf("%s: SCHEMA_REGISTRY_LISTENERS=%q, want one http URL", where, env["SCHEMA_REGISTRY_LISTENERS"])
	}
	u, err := url.Parse(listeners[0])
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		t.Fatalf("%s: SCHEMA_REGISTRY_LISTENERS=%q, want http://0.0.0.0:port", where, listeners[0])
	}
	if h := u.Hostname(); h != "0.0.0.0" && h != "" {
		t.Errorf("%s: SCHEMA_REGISTRY_LISTENERS binds %s; bind 0.0.0.0 so other containers reach it", where, h)
	}
	servers := splitList(env["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"])
	if len(servers) == 0 {
		t.Errorf("%s: SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS is not set", where)
	}
	for _, s := range servers {
		_, hostPort, ok := cutListener(s)
		if !ok {
			hostPort = s
		}
		if !b.reaches(hostPort, aliases) {
			t.Errorf("%s: SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS %q is not an advertised Kafka listener", where, s)
		}
	}
	if v := env["SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR"]; v != "1" {
		t.Errorf("%s: SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR=%q, want 1 with a single broker", where, v)
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}

// splitList splits a comma-separated value, dropping empty elements.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
