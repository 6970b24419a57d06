package kafkax

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newCluster starts a one-broker kfake cluster and returns a Config for it.
func newCluster(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, Config) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, Config{Brokers: c.ListenAddrs()}
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readAll reads every record of topic, partition by partition.
func readAll(t testing.TB, ctx context.Context, cfg Config, topic string) []kafka.Message {
	t.Helper()
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseClient(client)
	ranges, err := Ranges(ctx, client, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, r := range ranges {
		if err := ReadRange(ctx, client, topic, r, func(m kafka.Message) error {
			out = append(out, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestEnsureTopics(t *testing.T) {
	ctx := testContext(t)
	cluster, cfg := newCluster(t)
	if err := cluster.CreateTopic("existing", 2, nil); err != nil {
		t.Fatal(err)
	}
	specs := []TopicSpec{
		CheckpointTopicSpec("pollers.checkpoints", -1),
		{Name: "plm.audit", Partitions: 3, ReplicationFactor: 1},
		{Name: "pollers.deadletter"}, // broker defaults
		{Name: "existing", Partitions: 5},
	}
	for i := range 2 { // the second call must find everything in place
		if err := EnsureTopics(ctx, cfg, specs...); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}

	md, err := freshMetadata(ctx, cfg, []string{"pollers.checkpoints", "plm.audit", "pollers.deadletter", "existing"})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"pollers.checkpoints": 1, "plm.audit": 3, "pollers.deadletter": 10, "existing": 2} {
		if got := len(md[topic].Partitions); got != want {
			t.Errorf("topic %s has %d partitions, want %d", topic, got, want)
		}
	}

	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseClient(client)
	configs, err := TopicConfig(ctx, client, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	if got := configs["cleanup.policy"]; got != "compact" {
		t.Errorf("checkpoint topic cleanup.policy = %q, want compact", got)
	}
	configs, err = TopicConfig(ctx, client, "plm.audit")
	if err != nil {
		t.Fatal(err)
	}
	if got := configs["cleanup.policy"]; got != "delete" {
		t.Errorf("plm.audit cleanup.policy = %q, want the default delete", got)
	}
}

func TestEnsureTopicsErrorNamesTopic(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	err := EnsureTopics(ctx, cfg, TopicSpec{Name: "fine"}, TopicSpec{Name: "too.replicated", ReplicationFactor: 3})
	if err == nil {
		t.Fatal("EnsureTopics with replication 3 on one broker succeeded")
	}
	if !strings.Contains(err.Error(), `"too.replicated"`) || strings.Contains(err.Error(), `"fine"`) {
		t.Errorf("error %q should name too.replicated and only it", err)
	}
	if !errors.Is(err, kafka.InvalidReplicationFactor) {
		t.Errorf("error %v does not wrap InvalidReplicationFactor", err)
	}
}

func TestEnsureTopicsUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := EnsureTopics(ctx, Config{Brokers: []string{closedAddr(t)}}, TopicSpec{Name: "t"})
	if err == nil {
		t.Fatal("EnsureTopics against a closed port succeeded")
	}
}

// TestWriterPartitionsLikeJava checks that a key lands on the partition the
// Java client (murmur2, as franz-go's StickyKeyPartitioner computes it)
// would choose, that messages carry their topic, and that they read back.
func TestWriterPartitionsLikeJava(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	const parts = 6
	topics := []string{"a.audit", "b.audit"}
	for _, tp := range topics {
		if err := EnsureTopics(ctx, cfg, TopicSpec{Name: tp, Partitions: parts}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := NewWriter(cfg, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	var msgs []kafka.Message
	for i := range 200 {
		msgs = append(msgs, kafka.Message{
			Topic: topics[i%2],
			Key:   fmt.Appendf(nil, "event-%03d", i),
			Value: fmt.Appendf(nil, `{"n":%d}`, i),
		})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	java := kgo.StickyKeyPartitioner(nil)
	for _, tp := range topics {
		got := readAll(t, ctx, cfg, tp)
		if len(got) != 100 {
			t.Fatalf("%s holds %d records, want 100", tp, len(got))
		}
		for _, m := range got {
			want := java.ForTopic(tp).Partition(&kgo.Record{Key: m.Key}, parts)
			if m.Partition != want {
				t.Errorf("%s key %s on partition %d, Java chooses %d", tp, m.Key, m.Partition, want)
			}
			var n int
			if _, err := fmt.Sscanf(string(m.Key), "event-%d", &n); err != nil || string(m.Value) != fmt.Sprintf(`{"n":%d}`, n) {
				t.Errorf("%s record %s = %s", tp, m.Key, m.Value)
			}
		}
	}
}

// TestWriterSplitsLargePages writes a page far larger than the broker's
// message.max.bytes in one call: kafka-go must split it into several produce
// requests instead of having the broker reject it.
func TestWriterSplitsLargePages(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "big", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(cfg, "big", 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// 1500 events of ~2 KiB of random (incompressible) bytes: 3 MiB.
	msgs := make([]kafka.Message, 1500)
	for i := range msgs {
		v := make([]byte, 2048)
		_, _ = rand.Read(v)
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: v}
	}
	_ = w.Stats() // reset the counters
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("write a 3 MiB page: %v", err)
	}
	if st := w.Stats(); st.Writes < 3 {
		t.Errorf("the 3 MiB page went out in %d produce requests, want at least 3", st.Writes)
	}
	got := readAll(t, ctx, cfg, "big")
	if len(got) != len(msgs) {
		t.Fatalf("read %d records, want %d", len(got), len(msgs))
	}
	for i, m := range got {
		if !bytes.Equal(m.Value, msgs[i].Value) {
			t.Fatalf("record %d differs (order or content)", i)
		}
	}

	huge := kafka.Message{Key: []byte("huge"), Value: make([]byte, BatchBytes)}
	var tooLarge kafka.MessageTooLargeError
	if err := w.WriteMessages(ctx, huge); !errors.As(err, &tooLarge) {
		t.Errorf("writing one message over BatchBytes: got %v, want MessageTooLargeError", err)
	}
}

// TestWriterSyncWriteIsFast guards BatchTimeout: with kafka-go's default a
// synchronous write of one message takes a second.
func TestWriterSyncWriteIsFast(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "fast", Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(cfg, "fast", 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("warm up")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 5 {
		if err := w.WriteMessages(ctx, kafka.Message{Key: fmt.Appendf(nil, "%d", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("5 synchronous single-message writes took %v, want well under 1s", d)
	}
}

func TestWriterUnknownTopic(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	w, err := NewWriter(cfg, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.WriteMessages(ctx, kafka.Message{Topic: "never.created", Value: []byte("x")})
	if !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("write to a missing topic: got %v, want UnknownTopicOrPartition (no auto-creation)", err)
	}
}

func TestSASL(t *testing.T) {
	const user, pass = "poller", "s3cret-Pa55"
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			ctx := testContext(t)
			_, cfg := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, user, pass))
			cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = mech, user, pass

			if err := Ping(ctx, cfg); err != nil {
				t.Fatalf("ping: %v", err)
			}
			if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "sasl", Partitions: 1}); err != nil {
				t.Fatalf("ensure topics: %v", err)
			}
			w, err := NewWriter(cfg, "sasl", 10)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")}); err != nil {
				t.Fatalf("write: %v", err)
			}
			if got := readAll(t, ctx, cfg, "sasl"); len(got) != 1 || string(got[0].Value) != "v" {
				t.Fatalf("read back %v", got)
			}

			wrong := cfg
			wrong.SASLPassword = "not-the-password"
			for name, err := range map[string]error{
				"ping":   Ping(ctx, wrong),
				"ensure": EnsureTopics(ctx, wrong, TopicSpec{Name: "sasl"}),
			} {
				if !errors.Is(err, kafka.SASLAuthenticationFailed) {
					t.Errorf("%s with a wrong password: got %v, want SASLAuthenticationFailed", name, err)
				}
				t.Logf("%s with a wrong password: %v", name, err)
				if err != nil && strings.Contains(err.Error(), wrong.SASLPassword) {
					t.Errorf("%s error reveals the password: %v", name, err)
				}
			}
		})
	}
}

func TestTLS(t *testing.T) {
	ctx := testContext(t)
	caFile, serverCfg := selfSignedTLS(t)
	_, cfg := newCluster(t, kfake.TLS(serverCfg))
	cfg.TLSEnabled, cfg.TLSCAFile = true, caFile

	if err := Ping(ctx, cfg); err != nil {
		t.Fatalf("ping over TLS: %v", err)
	}
	if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "tls", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(cfg, "tls", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("over tls")}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, cfg, "tls"); len(got) != 1 || string(got[0].Value) != "over tls" {
		t.Fatalf("read back %v", got)
	}

	untrusted := cfg
	untrusted.TLSCAFile = "" // system roots do not know the test CA
	var unknownCA x509.UnknownAuthorityError
	if err := Ping(ctx, untrusted); !errors.As(err, &unknownCA) {
		t.Errorf("ping without the CA: got %v, want x509.UnknownAuthorityError", err)
	}
	plaintext := cfg
	plaintext.TLSEnabled, plaintext.TLSCAFile = false, ""
	shortCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := Ping(shortCtx, plaintext); err == nil {
		t.Error("plaintext ping of a TLS broker succeeded")
	}
}

func TestPing(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	if err := Ping(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// A dead first broker is skipped.
	cfg.Brokers = append([]string{closedAddr(t)}, cfg.Brokers...)
	if err := Ping(ctx, cfg); err != nil {
		t.Fatalf("ping with one dead broker: %v", err)
	}
	if err := Ping(ctx, Config{Brokers: []string{closedAddr(t)}}); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if err := Ping(ctx, Config{}); err == nil {
		t.Fatal("ping with no brokers succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2"
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means no error
	}{
		{"plain", Config{Brokers: []string{"k:9092"}}, ""},
		{"sasl plain", Config{Brokers: []string{"k:9092"}, SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: secret}, ""},
		{"scram 512", Config{Brokers: []string{"k:9092"}, SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: secret}, ""},
		{"tls system roots", Config{Brokers: []string{"k:9092"}, TLSEnabled: true}, ""},
		{"unknown mechanism", Config{SASLMechanism: "GSSAPI", SASLUsername: "u", SASLPassword: secret}, `"GSSAPI" is not one of`},
		{"lower-case mechanism", Config{SASLMechanism: "plain", SASLUsername: "u", SASLPassword: secret}, "is not one of"},
		{"no password", Config{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "u"}, "needs a user name and a password"},
		{"prohibited characters", Config{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "u", SASLPassword: secret + "\u0007"}, "SASLprep prohibits"},
		{"ca without tls", Config{TLSCAFile: notPEM}, "TLS is not enabled"},
		{"ca not pem", Config{TLSEnabled: true, TLSCAFile: notPEM}, "holds no PEM certificate"},
		{"ca missing", Config{TLSEnabled: true, TLSCAFile: filepath.Join(dir, "absent.pem")}, "read kafka TLS CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errT := tt.cfg.Transport()
			_, errD := tt.cfg.Dialer()
			for _, err := range []error{errT, errD} {
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("unexpected error: %v", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("got error %v, want one containing %q", err, tt.want)
				case err != nil && strings.Contains(err.Error(), secret):
					t.Errorf("error reveals the password: %v", err)
				}
			}
		})
	}
}

func TestConfigLogValueHidesPassword(t *testing.T) {
	var buf bytes.Buffer
	cfg := Config{Brokers: []string{"k:9092"}, SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: "hunter2"}
	slog.New(slog.NewTextHandler(&buf, nil)).Info("kafka", "config", cfg)
	if out := buf.String(); strings.Contains(out, "hunter2") || !strings.Contains(out, "has_password=true") || !strings.Contains(out, "client_id=auditstream") {
		t.Errorf("log line %q", out)
	}
}

func TestReadRangeStopsAtEnd(t *testing.T) {
	ctx := testContext(t)
	cluster, cfg := newCluster(t)
	if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "r", Partitions: 1, Configs: map[string]string{"cleanup.policy": "compact"}}); err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseClient(client)

	empty, err := Ranges(ctx, client, "r")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ReadRange(ctx, client, "r", empty[0], func(kafka.Message) error {
		t.Error("record in an empty partition")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("reading an empty partition took %v", d)
	}

	w, err := NewWriter(cfg, "r", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// One write per record: separate batches, so compaction can drop some.
	for i := range 10 {
		m := kafka.Message{Key: []byte("same"), Value: fmt.Appendf(nil, "v%d", i)}
		if i == 9 {
			m = kafka.Message{Key: []byte("tomb")} // a tombstone
		}
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cluster.Compact()
	ranges, err := Ranges(ctx, client, "r")
	if err != nil {
		t.Fatal(err)
	}
	if ranges[0].End != 10 {
		t.Fatalf("high-water mark %d, want 10", ranges[0].End)
	}
	// Records written after the range was taken are not read.
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("late"), Value: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := ReadRange(ctx, client, "r", ranges[0], func(m kafka.Message) error {
		got = append(got, fmt.Sprintf("%d:%s=%s/%t", m.Offset, m.Key, m.Value, m.Value == nil))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"8:same=v8/false", "9:tomb=/true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read after compaction %v, want %v", got, want)
	}

	stop := errors.New("stop")
	if err := ReadRange(ctx, client, "r", ranges[0], func(kafka.Message) error { return stop }); err != stop {
		t.Errorf("ReadRange returned %v, want fn's error as is", err)
	}
	if _, err := Ranges(ctx, client, "absent"); !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("Ranges of a missing topic: %v", err)
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// selfSignedTLS makes a CA and a server certificate for 127.0.0.1 signed by
// it. It returns the CA's PEM file and the server's TLS config.
func selfSignedTLS(t testing.TB) (caFile string, server *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "auditstream test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kfake"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}

// TestCloseStopsGoroutines: a closed writer or client leaves no kafka-go
// goroutine behind (kafka.Writer.Close alone leaves its Transport's).
func TestCloseStopsGoroutines(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	if err := EnsureTopics(ctx, cfg, TopicSpec{Name: "g", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	settle := func(limit int) int {
		n := runtime.NumGoroutine()
		for deadline := time.Now().Add(3 * time.Second); n > limit && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(20 * time.Millisecond)
		}
		return n
	}
	time.Sleep(50 * time.Millisecond) // let EnsureTopics' connections wind down
	baseline := runtime.NumGoroutine()
	for range 3 {
		w, err := NewWriter(cfg, "g", 10)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("1")}, kafka.Message{Key: []byte("b"), Value: []byte("2")}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		client, err := NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := EndOffsets(ctx, client, "g"); err != nil {
			t.Fatal(err)
		}
		CloseClient(client)
	}
	if n := settle(baseline); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after closing, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func TestWriterCompressionCodecs(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t)
	for _, codec := range []string{"", "none", "gzip", "snappy", "lz4", "zstd"} {
		topic := "codec-" + codec
		if codec == "" {
			topic = "codec-default"
		}
		if err := EnsureTopics(ctx, cfg, TopicSpec{Name: topic, Partitions: 1}); err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.Compression = codec
		w, err := NewWriter(c, topic, 10)
		if err != nil {
			t.Fatalf("%q: %v", codec, err)
		}
		value := bytes.Repeat([]byte(`{"user":"jane.doe@example.com"}`), 40)
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: value}); err != nil {
			t.Fatalf("%q: write: %v", codec, err)
		}
		w.Close()
		got := readAll(t, ctx, cfg, topic)
		if len(got) != 1 || !bytes.Equal(got[0].Value, value) {
			t.Fatalf("%q: read back %d messages", codec, len(got))
		}
	}
	if _, err := NewWriter(Config{Brokers: cfg.Brokers, Compression: "brotli"}, "x", 1); err == nil || !strings.Contains(err.Error(), "brotli") {
		t.Fatalf("unknown compression: err = %v", err)
	}
}
