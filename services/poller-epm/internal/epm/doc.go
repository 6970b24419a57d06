// Package epm reads the admin audit of CyberArk Endpoint Privilege Manager
// (EPM), GET …/Sets/{SetID}/AdminAudit, for every set of a tenant, and
// normalizes it to audit events.
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
// window the vendor may count in. The transport takes a call from it for
// every attempt — first tries, httpx retries, logons — and the client
// waits for room before each request, outside the attempt's timeout, so
// that the transport rarely has to. (httpx takes one *rate.Limiter, a token
// bucket, which cannot express two windows and is not consulted for the
// logon client; the budget replaces it.) A 429 is retried by httpx with
// backoff and Retry-After. A process started after a crash does not know
// the calls of its predecessor; the vendor's 429 covers that gap.
//
// # One stream per tenant, one position per set
//
// The pipeline runs the streams built at start, each with one checkpoint
// key, while sets can appear at any time. So a tenant is one stream,
// "epm/<tenant>/admin-audit", whose cursor maps each set id to that set's
// own position:
//
//	{"round": "2024-12-01T10:00:00Z", "turn": "<set id>",
//	 "sets": {"<set id>": {"last": …, "n": …, …}, …}}
//
// Every Fetch reads one page of one set, so every page — and every
// checkpoint — belongs to one set, and its Next carries the positions of
// all. The positions are independent: a set's position changes only by
// pages of that set, so a restart resumes each set where it stopped, as if
// each had its own checkpoint. Sets take turns in id order ("turn"), page
// by page, so a set added to a large tenant backfills without holding the
// others back. A round ("round") reads every set up to the horizon
// now − SAFETY_LAG taken when it started; when no set has anything left,
// the page is Done — unless the round ended more than a minute behind the
// horizon (a backfill), when the next round starts at once.
//
// The set list (GET …/Sets, or EPM_SET_IDS) is read at the start of every
// round and every 5 minutes within a long one; a set seen for the first
// time starts at START_TIME. A set the API refuses (400, 403, 404) is
// skipped until the next round, so that one set cannot stop the others. A
// set that disappears keeps its position in the cursor, and resumes there
// if it comes back. pipeline.TimeCursor(t), which operators write with
// auditctl, moves every set — including sets not seen yet — to t.
//
// Per-set checkpoint keys would need the pipeline to start streams while it
// runs: a pipeline.Options.Discover func(ctx) ([]pipeline.Stream, error)
// called every poll interval, whose new streams (by name) Runner.Run starts
// in goroutines it already owns and waits for, with poller.Run registering
// the topics of streams found later. Nothing here would change but Build,
// which would return the discoverer; the one budget per tenant is already
// shared by all the tenant's sources. Until the pipeline offers that, the
// map cursor gives the same per-set semantics under one key.
//
// # The scan of one set
//
// A set's position is
//
//	{"last": "2024-03-04T14:00:00.123Z", "n": 2, "same": ["9f2c…", …],
//	 "end": "…", "from": "…", "offset": 1234, "total": 5678, "anchor": "…"}
//
// Its invariant: every record of the set with an EventTime before last,
// and the first n records at exactly last (in the API's order), have been
// emitted, and no other record. A set without position starts with last =
// START_TIME and n = 0, so START_TIME is inclusive.
//
// Opening a window (no "end"): a = last truncated to the second, and
// b = min(round, a + EPM_MAX_WINDOW), whole seconds; the window is
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
// Identical records: records carry no id, so an event id comes from the
// set id and the record's content, and the vendor writes identical records
// in one millisecond (an API call repeated, say). Each is a record of its
// own: the position's "same" keeps the hashes of the records emitted at
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
// NewNormalizer maps a record to an event.AuditEvent of the tenant:
// tenant_id is EPM_TENANT, the EPM account all the sets belong to, not a
// set: sets are subdivisions of one customer (and can be renamed), a SIEM
// counts tenancy by customer, and one stream per tenant keeps event ids
// stable when sets come and go; the set is in the attributes (set_id, and
// the record's SetName). The event time is EventTime; the actor is the
// Administrator (as e-mail when it is one, else as user name), with Role as
// roles and InternalSessionId as session id; src_ip is LoggedFrom when it
// is an IPv4 or IPv6 address; action is Feature, message is Description,
// and the category comes from the feature (see classify). Every other
// member — SetName, LoggedAt, PermissionDescription, a member of an
// unexpected type, members the vendor may add — is kept in attributes, and
// raw keeps the record byte for byte.
package epm
