package oracle

import (
	"archive/zip"
	"io"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

type (
	pipelineRecord = pipeline.Record
	eventEvent     = event.Event
)

func asAudit(e event.Event) *event.AuditEvent { return e.(*event.AuditEvent) }

func zipWriter(w io.Writer) *zip.Writer { return zip.NewWriter(w) }
