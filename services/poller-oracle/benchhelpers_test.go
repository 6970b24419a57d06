package main

import (
	"encoding/json"
	"log/slog"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// discard returns a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// decodeOracle decodes a cursor of the Source.
func decodeOracle(raw pipeline.Cursor) oracle.Cursor {
	var c oracle.Cursor
	_ = json.Unmarshal(raw, &c)
	return c
}
