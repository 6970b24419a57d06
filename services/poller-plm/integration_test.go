//go:build integration

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/testkit"
)

// TestIntegrationRealKafka runs the end-to-end check against a real Kafka
// and Schema Registry (KAFKA_BROKERS, SCHEMA_REGISTRY_URL; for example the
// docker-compose stack's kafka and schema-registry):
//
//	KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 \
//	  go test -tags integration -run Integration ./services/poller-plm
//
// Its topics carry a unique suffix, so it leaves the cluster's other topics
// alone (and its own behind, for inspection).
func TestIntegrationRealKafka(t *testing.T) {
	kafka, registryURL := testkit.External(t)
	w := newWorldOn(t, kafka, registryURL, map[string]int{plmsim.TypeItem: 2000, plmsim.TypeSystem: 1000}, true)
	suffix := fmt.Sprintf("it%d", time.Now().UnixNano())
	topic := "plm.audit." + suffix
	w.env["PLM_TOPIC"] = topic
	w.env["CHECKPOINT_TOPIC"] = "pollers.checkpoints." + suffix
	w.env["DEADLETTER_TOPIC"] = "pollers.deadletter." + suffix
	w.env["PLM_TENANT"] = e2eTenant
	want := w.expected(t)

	// A crash between produce and checkpoint, then a run to the end.
	svc, _ := w.loadService(t)
	testkit.RunUntilCrash(t, svc, 3)
	svc, _ = w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "every record", 3*time.Minute, func() bool {
		return len(testkit.CountIDs(w.consumed(t, topic))) >= len(want)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(w.consumed(t, topic)), 2*250)
	t.Logf("%d events in %s, %d duplicates after one crash", len(want), topic, dups)
}
