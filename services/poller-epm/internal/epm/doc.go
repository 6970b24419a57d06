// Package epm reads the admin audit of CyberArk Endpoint Privilege Manager
// (EPM), GET …/Sets/{SetID}/AdminAudit, for every set of a tenant, each set
// as a stream of its own, and normalizes it to audit events.
//
// # The API
//
// A logon at the dispatcher (POST {EPM_BASE_URL}/EPM/API[/{version}]/Auth/
// EPM/Logon with Username, Password and ApplicationID) returns a token and
// a ManagerURL, the EPM server every later call goes to with
// "Authorization: basic <token>"; calls sent to the dispatcher fail. A
// session ends after the tenant's inactivity timeout, and at some age: the
// Session (an httpx.Authorizer) logs on again min(30s, timeout/10) before an
// idle session would expire, and once after a 401 before retrying the call.
//
// Admin audit is per set. Its parameters are DateFrom and DateTo in whole
// seconds (YYYY-MM-DDThh:mm:ssZ, never with '+', '&' or '%', so queries are
// written unescaped), and Offset and Limit (at most 500); the answer holds
// TotalCount. Records carry EventTime with milliseconds, have no id, and
// many share one EventTime. The documentation does not say whether the
// date bounds are inclusive, nor how records are sorted; existing
// integrations take them as ascending by EventTime, and so does this
// package, in the one place where it matters (below).
//
// The tenant allows 5 calls per second and 1,000 per 5 minutes. One Budget
// per tenant holds every limit of EPM_RATE_LIMIT (default 4/1s,950/5m) as a
// sliding window over the calls sent, which is stricter than any fixed
// window the vendor may count in, and spreads the calls at least the
// shortest period/calls apart (250 ms), so that network delays that vary
// cannot fold two bursts into one of the vendor's windows. Every request
// sent takes a call from it — first tries, httpx retries, logons: the
// client logs on first if it must, then takes (Prepay) the call of a
// request right before sending it, outside the attempt's timeout, and the
// transport takes one for every further attempt. (httpx takes one
// *rate.Limiter, a token bucket, which cannot express two windows and is
// not consulted for the logon client; the budget replaces it.) A 429 is
// retried by httpx with backoff and Retry-After. A process started after a
// crash does not know the calls of its predecessor; the vendor's 429
// covers that gap.
//
// # One stream per set, one tenant
//
// Each set is a stream, "epm/<tenant>/sets/<set id>/admin-audit": its own
// Source, its own cursor under its own checkpoint key, its own goroutine
// in the pipeline. A restart resumes every set where it stopped, and an
// operator moves one set with auditctl checkpoints reset <stream> [--to
// TIME]. The sets are EPM_SET_IDS, or every set the account can see:
// Tenant.Discover lists them (GET …/Sets) when the poller starts and every
// EPM_SET_DISCOVERY_INTERVAL, and the pipeline starts the stream of each
// set it does not run yet, from its checkpoint, or from START_TIME for a
// set never seen. Streams are never stopped: a set that disappears keeps
// its checkpoint, and its stream is refused (400, 403, 404) and waits the
// poll interval after every refusal, with an error logged, without holding
// any other set back; a set of EPM_SET_IDS the account cannot see behaves
// the same way.
//
// The vendor's limits are per tenant, so the streams of a tenant share one
// Client: one Session and one Budget. The Session logs on once at a time,
// never holding its state's lock during the logon, so that calls with a
// live session go on meanwhile and a call that took its budget call is
// sent at once; calls that meet a 401 together log on once (Refresh skips
// the logon when the token refused is no longer the session's). The Budget serves its callers in the order
// they asked, so that the sets take turns call by call — each stream has
// at most one call in flight — and a set added to a large tenant backfills
// beside the others, neither starving them nor starved; a logon and the
// retry of a call already sent go to the head of the line. Only the first
// caller in line waits for room in the limits.
//
// # The scan of one set
//
// A set's cursor is
//
//	{"last": "2024-03-04T14:00:00.123Z", "n": 2, "same": ["9f2c…", …],
//	 "end": "…", "from": "…", "offset": 1234, "total": 5678, "anchor": "…"}
//
// Its invariant: every record of the set with an EventTime before last,
// and the first n records at exactly last (in the API's order), have been
// emitted, and no other record. A set without checkpoint starts with
// last = START_TIME and n = 0, so START_TIME is inclusive; and
// pipeline.TimeCursor(t), {"last": t}, is the cursor "t, nothing at t
// emitted", so a reset to t starts at t inclusive.
//
// Opening a window (no "end"): a = last truncated to the second, and
// b = min(horizon, a + EPM_MAX_WINDOW), whole seconds, where the horizon is
// now − SAFETY_LAG truncated to the second; the window is
// [a, b), half-open. The query asks DateFrom = a − 1s and DateTo = b. Since
// DateFrom may be inclusive or not, and DateTo may cover the instant b, its
// whole second or stop short of it, the result set holds every record of
// [a, b) under every reading; the scan itself keeps exactly the records of
// [a, b) — records before last are skipped by the invariant, records at or
// after b are left to the next window, which starts at b. No boundary
// record is skipped or emitted twice, whatever the vendor's bounds mean.
//
// Reading: the window is closed (b is behind the horizon), so its result
// set should not change while it is paged. Each later Fetch requests from
// offset − 1 and checks that the first record is the one it read last, by
// its content hash ("anchor"). When it is, every record after it is unread
// — including records the vendor added since, which TotalCount shows:
// records at or after last are emitted as usual, older ones (indexed late,
// after the anchor) are emitted too, with a warning. When the anchor moved
// (records removed or inserted before it), or TotalCount changed between
// two pages of one Fetch, the offset means nothing any more, but the
// invariant still says what was emitted: the read starts again with the
// query moved to DateFrom = second of last − 1s, offset 0, skipping records
// before last and the first n at last. Only this skip relies on the order
// (ascending by EventTime, stable among equal times), and it costs about
// one page, not a rescan of the window. If the rescan meets the anchor, the
// records after it are unread, and n is recounted from the records at last
// met up to it, so a record removed from a burst under the cursor neither
// shifts the skip nor is counted; a record inserted at last before the
// anchor cannot be told from one already read and is not emitted (a
// warning says so) — SAFETY_LAG exists to make that rare. A Fetch reads
// pages until it has records past the cursor or the window is complete;
// the window then closes with last = b and n = 0.
//
// Caught up and restarts: a page is Done when its window closed within a
// minute of the horizon; a window that closed further behind (a backfill)
// is followed at once by the next, while after a Done page the pipeline
// waits the poll interval before the next window opens. A Fetch depends only on its
// cursor and the vendor's data, as the pipeline's one-page lookahead
// requires. The pipeline saves a cursor only after Kafka acknowledged the
// page it ends, so a stop at any moment — inside a burst of records
// sharing one EventTime, between a page's produce and its checkpoint —
// resumes each set from its last saved cursor, whose invariant says
// exactly what was emitted: nothing is skipped, and only the page in
// flight, at most one per set, is produced again, with the same event ids.
//
// Identical records: records carry no id, so an event id is a UUIDv5 of
// the vendor, the tenant, the set's stream and the identity
// "<set id>/<hash of the record's canonical JSON>", and the vendor writes
// identical records in one millisecond (an API call repeated, say). Each
// is a record of its own: the position's "same" keeps the hashes of the records emitted at
// exactly last, and a record identical to k of them gets identity
// "<set id>/<hash>#k", so its event id differs while the first keeps the
// plain hash. A restart inside such a burst continues the count from the
// cursor.
//
// A record whose EventTime is missing or malformed cannot be placed in
// time; it is emitted wherever it is met, and its normalization fails,
// sending it to the dead-letter topic with the reason.
//
// # Events
//
// NewNormalizer maps a record of one set to an event.AuditEvent of the
// tenant: tenant_id is EPM_TENANT, the EPM account all the sets belong to,
// not a set: sets are subdivisions of one customer (and can be renamed),
// and a SIEM counts tenancy by customer. The set is in the stream field
// (the set's stream name) and in the attributes (set_id, and
// // the record's SetName). The event time is EventTime; the actor is the
// Administrator (as e-mail when it is one, else as user name), with Role as
// roles and InternalSessionId as session id; src_ip is LoggedFrom when it
// is an IPv4 or IPv6 address; action is Feature, message is Description,
// and the category comes from the feature (see classify). Every other
// member — SetName, LoggedAt, PermissionDescription, a member of an
// unexpected type, members the vendor may add — is kept in attributes, and
// raw keeps the record byte for byte.
package epm
