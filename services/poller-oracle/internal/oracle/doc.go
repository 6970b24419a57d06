// Package oracle reads the user audit of an Oracle EPM Cloud instance — who
// logged in, from where, when — a UTC day at a time, and normalizes each
// row to an audit event.
//
// # The APIs
//
// The seed's API is the asynchronous User Audit Report (marked deprecated
// by the vendor): POST {ORACLE_BASE_URL}/interop/rest/{ORACLE_API_VERSION}/
// reports?q={"type":"userauditreport","fileName":…,"since":"YYYY-MM-DD",
// "until":"YYYY-MM-DD"} (q URL-encoded, Content-Type
// application/x-www-form-urlencoded) answers status -1 and links; the link
// whose rel is "Job Status" is followed as given (never rebuilt) every
// ORACLE_JOB_POLL_INTERVAL (shared/asyncjob) until status 0 (done) or a
// positive status (failed, with details). The file is then GET
// …/{ORACLE_LCM_VERSION}/applicationsnapshots/{fileName}/contents (an
// octet-stream; a JSON body is an error with status and details, a 404
// means not there) and DELETE …/applicationsnapshots/{fileName}. Its
// successor, ORACLE_REPORT_API=userloginreport, is one synchronous GET
// …/security/v1/report/userloginreport?from_date&to_date answering JSON
// rows under items, data or result. Both sit behind Reporter
// (AuditReporter, LoginReporter); the Source does not know which it reads.
//
// The submit is a POST that creates a job: httpx never repeats it once
// the vendor may have acted on it (a timeout, a 5xx, a dropped
// connection: errors.Is(err, httpx.ErrOutcomeUnknown)); such a file name
// is kept for deletion and the next attempt uses a new name. Only a 429
// or a request that never left is retried by httpx.
//
// The file is a ZIP holding one CSV (shared/zipcsv): a byte-order mark, a
// quoted encrypted application id on its own line, the header, then rows.
// Columns are found by header name, case-insensitively, with aliases
// (LoginColumns, NameColumns, IPColumns, TimeColumns); every column is
// kept in the event's attributes. The archive stays in memory as
// downloaded (one buffer sized by Content-Length) and the CSV is
// decompressed and parsed a row at a time; a zipcsv.Pager keeps it open
// between the pages of one selection, so a 50,000-row day is downloaded
// once per process.
//
// Access times look like "July 28, 2022 18:43:21 UTC" (ParseAccessTime
// also takes several spaces, zero-padded days, a missing zone and ISO
// 8601). The vendor merges a user's logins within five minutes into one
// row timed at the first; rows are not in time order (the simulator sorts
// them by login, then time).
//
// # Days and the cursor
//
// One stream per tenant, "oracle/<tenant>/user-audit". Reports are asked
// per day (since = until = the day): the API takes whole days. A day is
// closed once now − SAFETY_LAG is at or past its end. The cursor is
//
//	{"day":"2026-12-03","from":"…","to":"…","report":"auditstream-acme-….csv",
//	 "row":1234,"sel":1200,"read_at":"…","nonce":"…","orphans":[…]}
//
// Its invariant: every row of the selection [from, to) of day that the
// report lists before its first sel rows of the selection has been
// published, and every row of the day before from, and nothing else of
// the day; row is the number of data rows of the file report consumed
// (selected or not), a position for the Pager. A closed day is one
// selection, [max(day start, START_TIME), day end). The open day (today,
// not closed) is read every ORACLE_REPORT_INTERVAL: a selection [from, h)
// with h = now − SAFETY_LAG at the read, recorded in the cursor (to) so a
// restart asks for the same selection; only rows older than the horizon
// are final. When it is done the next selection starts at h, and its
// report is asked for once read_at + ORACLE_REPORT_INTERVAL has passed
// (until then Fetch returns a Done page without a call) — unless the day
// has closed meanwhile: then its last selection [h, day end) is read at
// once. So the open day is re-read without duplicates as it grows: each
// row falls in exactly one selection by its time. A row that cannot be
// placed (malformed, no parsable time, a time outside the day) belongs to
// the day's final selection, the one ending at the day's end, so it is
// dead-lettered exactly once; rows before START_TIME are never published.
//
// Pages hold at most 1,000 rows of the selection. After a restart (or
// when the held file was dropped) the selection's report is asked for
// again and skipped to sel rows of the selection. This rests on one
// assumption: the vendor's order of a given set of rows is deterministic
// (the simulator sorts by login, then time), so that the rows of a
// selection come in the same relative order in every report that holds
// them — the open day's later reports add rows, but only rows at or after
// the horizon of the earlier read (later than now − SAFETY_LAG then), which
// are not in the selection. A row the vendor indexes later than SAFETY_LAG
// into a selection already read would be missed, or shift the skip by
// one; SAFETY_LAG exists to make that rare.
//
// The pipeline saves a cursor only after Kafka acknowledged its page, so a
// stop at any moment — mid-day, between produce and checkpoint — replays
// at most the page in flight, with the same event ids.
//
// # 120 days
//
// The vendor keeps 120 days: the oldest day it answers for is today (UTC)
// − 120 days, inclusive (utcday.Oldest). The Source computes it rather
// than learning it from refusals: a START_TIME, a cursor or a reset
// (pipeline.TimeCursor, {"last": T}) older than that is clamped to the
// oldest day, with one warning naming the lost range and the counter
// auditstream.oracle.days.expired. A 400 "Invalid date range" for a day
// the calendar says is kept (clock skew, a shorter retention) is not
// retried as is: the Fetch fails (the pipeline backs off, and the clamp is
// checked again), and after three refusals the day becomes a dead letter
// naming it and the vendor's details, is counted
// (auditstream.oracle.days.refused) and logged as an error, and the stream
// goes on with the next day.
//
// Per day or per run of days: a backfill could ask one report for a run
// of closed days and split it. BenchmarkBackfillPlans measures both
// against oraclesim's job-duration model (README); per day is kept — see
// the README for the figures.
//
// # Report files and their names
//
// A report file is named FileName(tenant, nonce),
// auditstream-<tenant>-<nonce>.csv, unique per request: two pollers or a
// restart never read each other's file. The nonce of the next request is
// in the cursor, and after a request the next nonce is the start of the
// SHA-256 of the last: so a saved cursor names the file its Fetch may
// have been writing and the one the pipeline's read-ahead Fetch may have
// started. A Source that meets a nonce it did not issue (a restart) keeps
// both names for deletion and starts a chain of its own; a nonce without
// a saved cursor is never used — a new stream, a reset, a restart or a
// retry after a failed job first returns a Done page whose cursor carries
// the new nonce (one POLL_INTERVAL of delay), so that even a SIGKILL while
// a job runs leaves no file that no checkpoint names.
//
// Files that may be left behind — a submit whose answer was lost, a job
// abandoned at ORACLE_JOB_TIMEOUT or whose status could not be read, a
// download or delete that failed, a predecessor's — are kept in a bounded
// list (100) in the Source and in every cursor it returns, each with a
// give-up time: its submit + 2 × ORACLE_JOB_TIMEOUT. Every Fetch deletes a
// few (3), each at most every ORACLE_JOB_POLL_INTERVAL: 200 is gone; 404
// before the give-up time is kept (the job may still write it), after it
// forgotten; another error is kept. Deletes never block (10 s each) or fail
// the stream. One log line per file kept and per file deleted or
// forgotten; auditstream.oracle.files.undeleted is the list's length.
//
// A job that fails (positive status) is logged once with the vendor's
// details and the Fetch fails; the pipeline retries it with backoff,
// which submits again under a new name.
//
// # Events
//
// Normalize maps a row to an event.AuditEvent: category AUTHENTICATION,
// action "login", outcome SUCCESS (the report lists the users who logged
// in, not failed attempts), actor.user_id the login, actor.user_name the
// name (empty is null), actor.email the login when it looks like an
// e-mail address, src_ip the address when it is one, event_time the access
// time in UTC, raw_time the vendor's string, raw the CSV row as a JSON
// object keyed by the header (or the successor's JSON item), attributes
// every column. event_id is a UUIDv5 over vendor, tenant, stream and the
// identity (login, IP address, access time in UTC) — the same through
// either API and whatever selection or report a row was read in. A row
// that cannot be normalized (malformed, no login, a time that does not
// parse) goes to the dead-letter topic with its line number; the day still
// completes.
package oracle
