// Package revenera reads Revenera Usage Intelligence through its Reporting
// API 3.0.0 — the raw custom event and exception files and the daily event
// usage and client activity reports of every product — and normalizes
// them to usage events.
//
// # The session
//
// The API has no tokens: GET /v3/request-csrf sets a RUI-Csrf cookie, and
// POST /v3/auth/web with {"userName","password"} sets RUI-Csrf and
// RUI-Session-Token, which every later call must carry, with the headers
// RUI-Client, RUI-Client-Version and Origin (the vendor accepts only
// https://analytics.revenera.com). One Session per process holds the
// cookies in a net/http/cookiejar shared by the logon client and the API
// client (httpx.WithCookieJar), and is the API client's httpx.Authorizer:
// Authorize adds the headers, Refresh — called by httpx after a 401 —
// logs on again, once, and the call is retried. The vendor allows one
// session per user (a second logon is refused), so every stream of every
// product shares this one session; logons are serialized, and calls that
// meet one expired session together log on once (Refresh skips the logon
// when the session the refused call carried has been replaced).
//
// A logon requests a fresh CSRF cookie first. "Cookie Missing" (400) is
// transient, as the seed says: the logon is tried again with backoff, at
// most maxLogonAttempts times. A refusal because a session is already
// active (409) — a predecessor killed without its logout — is answered by
// POST /v3/auth/logout with the credentials, which ends the user's
// sessions (the seed offers logging out "all sessions that are active on
// your user ID"; the body form is the simulator's documented assumption),
// then the logon. This ends any other session of the same user, so the
// user must be dedicated to this poller (one replica, as every poller
// runs). A 401 of the logon (wrong user name or password) and a 403 (an
// Origin the vendor rejects) are permanent: the error names the user and
// the setting to fix, is logged once, is remembered so that no further
// logon is sent, and is returned as a backoff.Permanent, on which the
// pipeline stops the stream with the error logged. On shutdown the
// service logs the session out (Service.Shutdown, bounded by
// poller.ShutdownTimeout), so that the next process can log on at once.
//
// Every POST this package sends is a query or a logon and is declared
// idempotent (httpx.Idempotent), so httpx retries it after a 5xx or a
// timeout like a GET. REVENERA_RATE_LIMIT (default 5 calls per second; the
// vendor documents no limit) is one token bucket for logons and API
// calls; a 429 is retried after its Retry-After. Downloads go through a
// second client without session, cookies or limit: the pre-signed URLs
// need none, and the session cookies must not travel to the storage host.
//
// # Streams
//
// Each product has up to four streams, named as the issue fixed them:
// revenera/<product>/custom-events, …/exceptions, …/event-usage and
// …/client-activity. The stream name is the checkpoint key; product ids
// are the vendor's global ids, so the names are unique across accounts
// without the tenant, which is in every event (tenant_id) and in every
// event id. The products are REVENERA_PRODUCT_IDS, or every product of the
// logon answer: Account.Discover lists them at start and every
// DiscoveryInterval, and the pipeline starts the streams of products it
// does not run yet.
//
// # Daily and monthly files
//
// listFiles answers openDailyFiles (today's growing file, never read),
// dailyFiles (the closed days of roughly the last 40 days) and
// monthlyFiles (every ended month in retention, each holding exactly that
// month's rows, also for months whose days still have daily files). A
// file stream's cursor is
//
//	{"day":"2026-10-24","from":"…","file":"…_2026-10.zip","monthly":true,"row":3000,"done":0}
//
// with the invariant: every row of every day before day has been emitted
// (or lies before START_TIME, or in no file), and of day's rows exactly
// those of file before data row row that pass the filter. A stream with no
// checkpoint starts at START_TIME: day is its UTC day and from the instant
// (rows before it are skipped); pipeline.TimeCursor {"last": t} means the
// same for t. Between files (no file), the day decides, from the listing
// (see fileIndex.choose):
//
//   - day at or after the open day: Done, wait the poll interval — its
//     rows arrive when it closes;
//   - a daily file of day: read it, then day + 1;
//   - else a monthly file of day's month: read it, emitting only rows of
//     day and later (and the first done of day's rows skipped, below),
//     then the first day of the next month. A monthly file once started is
//     read to its end, even where daily files of its later days exist;
//   - else, when day is older than the oldest daily file, newer daily
//     files exist and day's month has ended without a monthly file: the
//     vendor keeps the day in no file any more (retention). The days up
//     to the next day that has a file are skipped, with a warning and a
//     dead letter naming them — never silently;
//   - else (a closed day without its daily file, of a month not ended or
//     whose monthly file is not there yet, or a listing without daily
//     files): the vendor has not produced it; wait (logged once per day).
//
// So no day is read twice (a day's rows come from exactly one file), and
// none is skipped, also when a daily file ages into its monthly one
// between two runs: between files, day simply has no daily file any more
// and is read from the monthly one from day on; inside a daily file, the
// file is no longer listed, and the cursor becomes day with done = row, so
// that the monthly file skips the day's first done rows. That relies on
// the monthly file holding each day's rows in its daily file's order — it
// is documented as the days' files joined, and the simulator writes it so.
//
// Reading: a file is downloaded whole into memory (the ZIP, sized by its
// Content-Length, zipcsv.ReadAll) and its CSV decompressed and parsed a row
// at a time (zipcsv), never held whole; pages hold at most 1,000 rows and
// row counts the data rows consumed, so a restart resumes at the next row.
// A zipcsv.Pager keeps the file open between pages; a Fetch with another
// cursor of the same file (the pipeline's discarded lookahead, a restart)
// re-opens the archive it holds, or downloads it again, and reads the rows
// before the cursor again to rebuild the duplicate counts. Each download
// asks for a new URL (getDownloadUrl); a URL refused with 403 (the S3-style
// expiry) is replaced, at most maxURLRenewals times. URLs appear in errors
// and logs with their X-Amz-Signature redacted (httpx redacts signature,
// key and token parameters).
//
// Identities: rows have no id and exact duplicate rows occur, each a record
// of its own. A row's identity is the SHA-256 of its canonical JSON (the
// row keyed by header names) and "#k" for the k-th earlier equal row of
// its day. Duplicates are counted per (day, content), not per file, so a
// row has the same event id from its daily file and from the monthly file.
// Equal rows have equal times, so while a file's rows come in time order
// only the current run of equal times is counted (memory independent of
// the file's size); at the first row out of order the file is read again
// from its start counting whole days — the counts are the same either way.
//
// A row whose field count differs from the header's, or whose time does
// not parse, fails its normalization and goes to the dead-letter topic
// with its file and line; the file still completes.
//
// # Reports
//
// event-usage and client-activity cover closed UTC days only: the last is
// utcday.LastClosed(now, SAFETY_LAG), the first the first whole day at or
// after START_TIME (a day that began before START_TIME is not reported:
// nothing before START_TIME). The cursor is {"day": D}, the next day not
// reported; one Fetch asks for D to min(D + REPORT_DAYS − 1, last) and
// that range is one page. event-usage lists every tracked event with
// showEvents=all — disabled events too, since they have counts for the days
// before they were disabled — and asks the timeline for them, at most 50
// events per request, joining the answers; client-activity asks dateRange
// for new, active and lost. Each (day, event) and (day, status) is one
// event, zeros included. A date that does not parse, lies outside the
// range or repeats, a day of the range the answer lacks, a series whose
// length differs from the dates', a value that is not a number, an event
// without a series and a missing status are dead letters, never a crash
// or a silent gap. An event's id is a UUIDv5 of (product, stream, day,
// metric, event or status), not of the value, so a value read again later
// (a reset) keeps its id. Events added to the product later are reported
// from the day they are first listed.
//
// # Events
//
// Every event is an event.UsageEvent of vendor revenera, product
// usage-intelligence, service the product id, tenant_id REVENERA_TENANT.
// A custom event row is metric custom_event and an exception row metric
// exception, value 1 and unit count (one occurrence: Event Value is free
// text in practice, and kept in the dimensions), at the row's time
// (event_time, period_start and period_end; raw_time the CSV's text), user
// the Client ID, dimensions every column by its header name plus
// product_id, raw the row as a JSON object. A report value is metric
// event.count (dimensions category, name, enabled) or clients.<status>
// (dimension status), period_start and period_end the UTC day's bounds,
// raw the value as the vendor gave it with its date.
package revenera
