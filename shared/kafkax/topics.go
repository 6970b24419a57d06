package kafkax

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// requestTimeout bounds one request of the admin and read clients, so that a
// broker that stops answering cannot block a caller whose ctx has no deadline.
const requestTimeout = 30 * time.Second

// TopicSpec describes a topic EnsureTopics creates when it does not exist.
type TopicSpec struct {
	// Name is the topic name. Required.
	Name string
	// Partitions is the partition count; 0 or -1 uses the broker default
	// (num.partitions).
	Partitions int
	// ReplicationFactor is the replica count; 0 or -1 uses the broker
	// default (default.replication.factor).
	ReplicationFactor int
	// Configs are topic configs such as cleanup.policy. Default none.
	Configs map[string]string
}

// CheckpointTopicSpec returns the spec of the checkpoint topic: one partition,
// compacted, so that the topic keeps the last checkpoint of every stream
// forever. replication is the replica count, -1 for the broker default.
//
// segment.ms is one hour (default seven days) because the log cleaner never
// compacts the active segment: a stream checkpointing every few seconds would
// otherwise leave a week of superseded records for every start to read.
// min.cleanable.dirty.ratio is 0.1 (default 0.5) for the same reason; the
// topic is small, so compacting it more often costs nothing.
func CheckpointTopicSpec(name string, replication int) TopicSpec {
	return TopicSpec{
		Name:              name,
		Partitions:        1,
		ReplicationFactor: replication,
		Configs: map[string]string{
			"cleanup.policy":            "compact",
			"segment.ms":                "3600000",
			"min.cleanable.dirty.ratio": "0.1",
		},
	}
}

// EnsureTopics creates the topics that do not exist, then waits until the
// metadata of the cluster shows every topic with a leader for each of its
// partitions, so that a writer built afterwards does not fail with Unknown
// Topic. Existing topics are left as they are, whatever their spec says; only
// a missing topic needs the permission to create topics. It first pings the
// cluster, so that TLS and SASL failures read as such. Errors name the
// topic. It waits as long as ctx allows.
func EnsureTopics(ctx context.Context, cfg Config, topics ...TopicSpec) error {
	if len(topics) == 0 {
		return nil
	}
	names := make([]string, 0, len(topics))
	for _, t := range topics {
		if t.Name == "" {
			return errors.New("ensure topics: a topic spec has no name")
		}
		names = append(names, t.Name)
	}

	// A Transport reports a broker that hangs up during SASL as a bare
	// "unexpected EOF" (kfake does so on a wrong password); the Conn-based
	// Ping names the failure. It also surfaces TLS problems as such.
	if err := Ping(ctx, cfg); err != nil {
		return fmt.Errorf("ensure topics %s: %w", strings.Join(names, ", "), err)
	}
	md, err := freshMetadata(ctx, cfg, names)
	if err != nil {
		return fmt.Errorf("ensure topics %s: %w", strings.Join(names, ", "), err)
	}
	var missing []TopicSpec
	for _, t := range topics {
		if tm, ok := md[t.Name]; !ok || errors.Is(tm.Error, kafka.UnknownTopicOrPartition) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		if err := createTopics(ctx, cfg, missing); err != nil {
			return err
		}
	}
	return waitTopicsReady(ctx, cfg, names)
}

// createTopics sends one CreateTopics request (to the controller) for specs;
// a topic that already exists is not an error.
func createTopics(ctx context.Context, cfg Config, specs []TopicSpec) error {
	client, err := NewClient(cfg)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	defer CloseClient(client)

	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafka.TopicConfig{
			Topic:             s.Name,
			NumPartitions:     orDefault(s.Partitions),
			ReplicationFactor: orDefault(s.ReplicationFactor),
		}
		for _, k := range slices.Sorted(maps.Keys(s.Configs)) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: s.Configs[k]})
		}
		req.Topics = append(req.Topics, tc)
	}
	res, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics %s: %w", strings.Join(specNames(specs), ", "), err)
	}
	var errs []error
	for _, s := range specs {
		if err := res.Errors[s.Name]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %q: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// waitTopicsReady polls fresh metadata until every named topic has
// partitions and a leader for each.
func waitTopicsReady(ctx context.Context, cfg Config, names []string) error {
	delay := 20 * time.Millisecond
	for {
		var notReady []string
		md, err := freshMetadata(ctx, cfg, names)
		if err == nil {
			for _, n := range names {
				if reason := topicNotReady(md[n]); reason != "" {
					notReady = append(notReady, fmt.Sprintf("%q (%s)", n, reason))
				}
			}
			if len(notReady) == 0 {
				return nil
			}
			err = fmt.Errorf("topics not ready: %s", strings.Join(notReady, ", "))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for topics %s: %w (last: %w)", strings.Join(names, ", "), ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// topicNotReady says why a topic cannot be written yet, or "" when it can.
func topicNotReady(t kafka.Topic) string {
	switch {
	case t.Name == "":
		return "absent from metadata"
	case t.Error != nil:
		return t.Error.Error()
	case len(t.Partitions) == 0:
		return "no partitions"
	}
	for _, p := range t.Partitions {
		if p.Error != nil {
			return fmt.Sprintf("partition %d: %v", p.ID, p.Error)
		}
		if p.Leader.Host == "" {
			return fmt.Sprintf("partition %d has no leader", p.ID)
		}
	}
	return ""
}

// freshMetadata returns the metadata of the named topics by topic name. It
// uses a new Transport, whose first metadata request goes to the broker;
// a long-lived Transport would answer from its cache.
func freshMetadata(ctx context.Context, cfg Config, names []string) (map[string]kafka.Topic, error) {
	addr, err := cfg.addr()
	if err != nil {
		return nil, err
	}
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	tr.MetadataTopics = names
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: addr, Transport: tr, Timeout: requestTimeout}
	res, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, err
	}
	out := make(map[string]kafka.Topic, len(res.Topics))
	for _, t := range res.Topics {
		out[t.Name] = t
	}
	return out, nil
}

// TopicConfig returns the configs of topic as the broker reports them
// (DescribeConfigs), defaults included.
func TopicConfig(ctx context.Context, client *kafka.Client, topic string) (map[string]string, error) {
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic,
			ResourceName: topic,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("describe topic %q configs: %w", topic, err)
	}
	for _, r := range res.Resources {
		if r.ResourceName != topic {
			continue
		}
		if r.Error != nil {
			return nil, fmt.Errorf("describe topic %q configs: %w", topic, r.Error)
		}
		out := make(map[string]string, len(r.ConfigEntries))
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
		return out, nil
	}
	return nil, fmt.Errorf("describe topic %q configs: topic absent from the response", topic)
}

// NewClient returns a kafka.Client for the cluster with its own Transport.
// Release it with CloseClient.
func NewClient(cfg Config) (*kafka.Client, error) {
	addr, err := cfg.addr()
	if err != nil {
		return nil, err
	}
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Client{Addr: addr, Transport: tr, Timeout: requestTimeout}, nil
}

// CloseClient closes the connections of a client made by NewClient and stops
// its Transport's metadata goroutine.
func CloseClient(c *kafka.Client) {
	if tr, ok := c.Transport.(*kafka.Transport); ok {
		tr.CloseIdleConnections()
	}
}

func orDefault(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func specNames(specs []TopicSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}
