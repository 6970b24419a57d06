package checkpoint_test

import (
	"testing"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/checkpoint/checkpointtest"
)

func TestMemoryStore(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) (checkpoint.Store, func() checkpoint.Store) {
		s := checkpoint.NewMemoryStore()
		return s, func() checkpoint.Store { return s.Reopen() }
	})
}
