// Package plm reads the system logs of Autodesk Fusion Manage (PLM 360),
// GET /api/v3/tenants/{tenant}/system-logs, and normalizes them to audit
// events. Each log type (item, system) is one stream with its own Source.
//
// # The API and why scanning it is delicate
//
// The endpoint pages by offset over a result set sorted by timestamp
// ascending (sort=timestamp asc; rows of one instant keep a stable order),
// narrowed only by whole days: filter[from.date] and filter[to.date] are
// dates in the tenant's zone, which the poller does not know. Timestamps
// carry that zone's offset ("2019-11-12T14:56:14.259-05:00"); rows are
// compared as instants at millisecond precision, never as text. The log
// keeps growing while it is read, and rows carry no id.
//
// # The scan
//
// The cursor is JSON:
//
//	{"last": "2024-03-04T14:00:00.123Z", "n": 2, "end": "...",
//	 "from_date": "2024-03-03", "to_date": "2024-03-05",
//	 "offset": 1234, "anchor": "9f2c4e1a0b7d3e55"}
//
// Its invariant: every row with a time before last, and the first n rows at
// exactly last (in the API's stable order), have been emitted, and no other
// row. A stream without cursor starts with last = START_TIME and n = 0, so
// START_TIME is inclusive.
//
// Opening a window (no "end"): T = min(now − SAFETY_LAG, last +
// PLM_MAX_WINDOW), in milliseconds. If T is not after last there is nothing
// to read: the page is Done and the cursor unchanged. Otherwise the query
// covers the UTC days from last − 14h to T + 14h: UTC offsets lie between
// −12h and +14h, so these days, read in any tenant zone, hold every instant
// of (last, T]. If from_date changed, offset restarts at 0 (it counted rows
// of another result set); if only to_date grew, it stays valid, because
// later days only append later rows.
//
// Reading: with offset > 0 the scan requests from offset − 1 and checks that
// the first row returned is the row it read last, by the content hash kept
// in "anchor" (the cursor's addition to a bare offset: comparing only the
// row's time could not see a shift within rows of one instant). When it
// matches, the rows after it are new: they are emitted in order, with last
// and n following, and rows older than last found there (late arrivals the
// vendor inserted after the anchor) are emitted too, with a warning. When it
// does not match, rows moved before the offset (the vendor removed rows,
// or indexed late ones): the scan starts again at offset 0 in the same
// Fetch with the skip rule, which relies on the invariant alone: rows before
// last are skipped, the first n rows at last are skipped, every later row is
// emitted. If the rescan meets the anchor row on its way, every row after it
// is unread, as above; this keeps a burst of rows of one instant exact when
// some of them were removed or inserted. A warning says how far the anchor
// moved. Rows inserted before the cursor cannot be told apart from rows
// already read and are not emitted — SAFETY_LAG exists to make that rare.
// A scan from offset 0 (a new from_date, or no anchor) uses the same skip
// rule. The scan stops at the first row after T, which stays unread.
//
// Fetch reads pages until it has rows past the cursor or the window is
// complete, so a rescan does not return a page in the middle of its skip.
// Its next cursor is either
//   - window complete (a row after T seen, or the result set ended): last =
//     T, n = the rows at exactly T emitted, offset = index of the first row
//     after T, no end; Position = T; Done only when T was now − SAFETY_LAG
//     of this Fetch (caught up), so a backfill continues at once; or
//   - more pages: last and n of the last row emitted, end = T, and the
//     offset after the rows read; Position = last.
//
// Setting last to T when a window completes (rather than to the last row
// emitted) is what lets a backfill cross a gap longer than PLM_MAX_WINDOW
// with no rows. Every Fetch depends only on its cursor: a new Source
// continues any cursor, which is what makes a restart safe.
//
// Identical rows: rows carry no id, so an event id comes from the row's
// content, and the vendor can log two rows with the same content in one
// millisecond (a double submission, say). Each is a record of its own: the
// cursor's "same" field keeps the hashes of the rows emitted at exactly
// last, and a row identical to k of them gets identity "<hash>#k", so its
// event id differs while the first keeps the plain content hash. A restart
// inside such a burst continues the count from the cursor.
//
// A row whose timestamp is missing or malformed cannot be placed in time;
// it is emitted wherever it is met, and its normalization fails, sending it
// to the dead-letter topic with the reason. A rescan over it emits it again.
//
// # Events
//
// NewNormalizer maps a row to an event.AuditEvent: event time from the
// timestamp, actor from user, target from item (or the user, group, script,
// workspace or tenant an administrative row names), category from the
// action (see rules), event id from the row's content. Every member not
// mapped is kept in attributes under a dotted key, and raw keeps the row
// byte for byte.
package plm
