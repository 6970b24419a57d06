// Package revenerasim simulates the Revenera Usage Intelligence Reporting
// API 3.0.0 of one account as far as a usage poller uses it — the cookie
// session, the raw custom event and exception files, and the event and
// client reports they can be checked against — with its quirks and
// failure modes, so that a client passing against it means something. A
// Server is an http.Handler for httptest and for the dev stack;
// cmd/revenerasim runs it on its own.
//
// It is written from the API reference (seed 001, whose response bodies
// are elided) and the vendor notes, not from the poller's code. Where the
// reference is silent the behaviour below is this simulator's assumption,
// marked "Assumption".
//
// # Every /v3 call
//
// Every request under /v3 — request-csrf and logout included — must carry
// Origin equal to Config.Origin (https://analytics.revenera.com), else
// 403 {"message":"Invalid Origin"}, and non-empty RUI-Client and
// RUI-Client-Version headers, else 400. Errors are JSON {"message":"..."}
// except the injected 502 and 504, which are a gateway's HTML. The body
// of the logon, getDownloadUrl and the reports must be Content-Type
// application/json (else 400); unknown members of a body are ignored. An unknown path is 404 {"message":"Not Found"}
// (after the session check), an unknown or non-numeric product id 404
// {"message":"Product not found"}.
//
// # Session
//
// GET /v3/request-csrf answers 204 with Set-Cookie RUI-Csrf=<random>;
// Path=/; HttpOnly (plus Secure when Config.SecureCookies). The token is
// good for one successful logon within an hour (Assumption).
//
// POST /v3/auth/web {"userName","password"} logs on. In this order:
//
//   - no RUI-Csrf cookie, or one the server did not issue, has spent or
//     has invalidated: 400 {"message":"Cookie Missing"};
//   - a body that is not JSON or lacks a member: 400;
//   - a wrong user or password: 401 {"message":"Invalid username or
//     password"} (the CSRF token stays good);
//   - with probability Config.CookieMissingRate (0.1), or when
//     CookieMissingNext asks for it: 400 {"message":"Cookie Missing"},
//     and the CSRF token is invalidated: the client must GET
//     /v3/request-csrf again before retrying, as the reference's "retry"
//     advice implies;
//   - the user already has Config.MaxSessions (1) live sessions: 409
//     {"message":"A session is already active for this user. Log out and
//     try again."} (the CSRF token stays good);
//   - else 200 {"userName","products":[{"id":2876543210,"name":"Acme
//     CAD"},...],"account":{"id","name"},"beatInterval":302} (the last two
//     echo the seed's sample; ignore them) with Set-Cookie RUI-Csrf=<new
//     random> and RUI-Session-Token=<random>, both Path=/; HttpOnly. The
//     CSRF token of the logon is spent.
//
// Every call but request-csrf, the logon and the logout needs the
// RUI-Session-Token cookie of a live session and the RUI-Csrf cookie that
// session's logon set; else 401 {"message":"Unauthorized"}. Assumption: a
// client that calls request-csrf while its session lives replaces that
// cookie in its jar and gets 401 until it logs on again. A session ends
// Config.SessionTTL (30m) after its logon and, when Config.SessionIdle is
// positive, after that long without a call; an ended session is 401 and
// no longer counts against MaxSessions.
//
// POST /v3/auth/logout ends the session of the RUI-Session-Token cookie
// (its RUI-Csrf is not checked) and answers 204 with the cookie deleted.
// Assumption, since the reference offers "a single session or all
// sessions of your user ID" without saying how: when the request has no
// live session cookie but a JSON body {"userName","password"} with the
// right credentials, it ends every session of that user — how a client
// recovers from the 409 after a crash lost its cookies — and answers 204;
// wrong credentials are 401. Without either it answers 204 and does
// nothing.
//
// # Products and files
//
// Config.Products (by default 2876543210 "Acme CAD", Scale 1, and
// 2876543211 "Acme Viewer", Scale 0.1) each have two kinds of raw files
// with the same mechanics:
//
//	GET  /v3/customEventTracking/listFiles/{product}
//	POST /v3/customEventTracking/getDownloadUrl/{product}  {"fileName"}
//	GET  /v3/exceptionTracking/listFiles/{product}
//	POST /v3/exceptionTracking/getDownloadUrl/{product}    {"fileName"}
//
// listFiles answers
//
//	{"openDailyFiles":[F],"dailyFiles":[F...],"monthlyFiles":[F...]}
//
// with F = {"fileName":"2876543210_customEvents_2026-12-03.zip",
// "date":"2026-12-03","size":12345,"createdAt":"2026-12-04T00:00:00Z",
// "storage":{"bucket":"...","region":"..."}} for the open and daily files
// and {"fileName":"2876543210_customEvents_2026-11.zip","month":"2026-11",
// "size":...,"createdAt":...,"storage":...} for monthly files; exception
// files say "exceptions" instead of "customEvents". createdAt and storage
// are there to test tolerant parsing. Config.BareFileNames answers each F
// as the bare file name instead. Config.ShortFileNames names the files as
// the seed's examples do, 2876543210_cust_2026-12-03.zip and
// 2876543210_exc_2026-12-03.zip. size is the byte size of the ZIP, equal
// to the download's Content-Length at the time of the listing. Lists are
// newest first; a client should not rely on any order.
//
// Days are UTC days of the data clock (below):
//
//   - openDailyFiles holds today's file, always, even with no rows yet. It
//     grows. At UTC midnight it closes: the same file name moves to
//     dailyFiles, with every row of that day, and a new open file starts.
//   - dailyFiles holds one file for each of the last Config.DailyDays (40)
//     closed days, a day without rows included (header only). A day older
//     than that disappears from the list.
//   - monthlyFiles holds one file for each of the last
//     Config.RetentionMonths (13) ended months, a month whose days still
//     have daily files included. A monthly file holds exactly the rows of
//     its month, and a daily file those of its day.
//
// getDownloadUrl {"fileName"} answers {"url":"...","expiresAt":
// "2026-12-03T14:05:19Z"} for a file the listing holds now, else 404
// {"message":"File not found"} (a name of another product or kind, a day
// that aged out, a future day, a .csv name); a missing fileName is 400.
// The URL is absolute — Config.PublicURL, or the scheme and host of the
// request — and looks pre-signed:
//
//	{base}/download/{token}/{fileName}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=...&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=...
//
// Use it verbatim: it needs no cookie, no Origin, no header. It may be
// used any number of times until Config.URLTTL (10s) after it was issued
// (expiresAt is that instant truncated to the second); from then on it
// answers 403 application/xml <Error><Code>AccessDenied</Code><Message>
// Request has expired</Message>...</Error>, as S3 does. An unknown token
// is 403 AccessDenied "Access Denied"; a URL with another file name or
// without its signature is 403 SignatureDoesNotMatch; a file that has
// left the listing since is 404 NoSuchKey. A download that started before
// the expiry completes. It answers 200 application/zip with
// Content-Length and an ETag (the MD5 of the ZIP), throttled to
// Config.DownloadBytesPerSecond when set. For the open file, the download
// holds the rows at the time of the download, not of the URL.
//
// A file is a ZIP with exactly one Deflate entry, the file name with .csv
// for .zip, holding a CSV: the header row, then the rows ordered by time
// (rows of one second in a fixed order), CRLF line ends, quoted as
// encoding/csv quotes (fields with commas, quotes and newlines occur; a
// newline inside a field is written CRLF too, which encoding/csv reads
// back as "\n"). No byte-order mark. A closed file is built once and its
// bytes are identical on every download. The columns:
//
//	Event Time (UTC),Client ID,Session ID,Event Category,Event Name,Event Value,Product Version,Product Edition,Language,OS,Country,License Type
//	Exception Time (UTC),Client ID,Session ID,Exception Class,Message,Stack Hash,Product Version,OS
//
// Times are "2026-12-03 14:05:09", UTC, whole seconds. Event Value is
// empty, a number or text. Some rows are exact duplicates of the row
// before (the same second and every field): they are two records.
//
// # Reports
//
// GET /v3/event-tracking/{product}?flat=true&showEvents=all answers
// {"result":[{"category","name","enabled":true},...]}: every (category,
// name) pair that occurs in the product's custom events, enabled, plus one
// disabled event that never occurs (Legacy / Classic Toolbar), sorted by
// category and name. showEvents=enabled or disabled filters; without
// flat=true (Assumption) the answer is categorized:
// {"result":[{"category","events":[{"name","enabled"}]}]}.
//
// POST /v3/reporting/eventTracking/basic/timeline/{product}
//
//	{"startDate":"2026-11-01","stopDate":"2026-11-30","dateSplit":"day","dataView":"usageCounts","events":[{"category","name"}]}
//
// answers {"result":{"dates":["2026-11-01",...],"series":[{"category",
// "name","values":[n,...]}]}}: one series per requested event in the order
// requested, one value per day of [startDate, stopDate], the number of
// custom event rows (duplicates included) of that event on that UTC day,
// zeros included; an event that never occurs has zeros. dataView may be
// omitted; any other than usageCounts is 400, as are no events.
//
// POST /v3/reporting/generic/dateRange/{product}
//
//	{"startDate","stopDate","dateSplit":"day","clientStatus":["new","active","lost"],"daysUntilDeclaredLost":30}
//
// answers {"result":{"dates":[...],"new":[...],"active":[...],"lost":[...]}}
// with only the statuses requested, in the order requested, after dates.
// From the custom event rows: active is the number of distinct Client IDs
// with a row that day; new the number whose first row ever is that day;
// lost (Assumption) the number whose last row ever is exactly
// daysUntilDeclaredLost days (default 30, 1 to 365) before that day. Since
// "ever" is the data so far, past values of lost fall when a client comes
// back. Other members of the body (groupBy, globalFilters...) are ignored.
//
// Both reports: dates are YYYY-MM-DD exactly; startDate after stopDate,
// stopDate after today (today is allowed, and partial) — 400
// {"message":"stopDate must not be in the future"} —, a range longer than
// Config.MaxReportDays (31) days — 400 {"message":"Date range too
// large"} —, and a dateSplit other than day, week or month are 400. week
// periods are ISO weeks (Monday first) and month periods calendar months,
// each cut to the range and labelled by its first day in it; only day is
// meant to be exact. Config.DateFormat "datetime" writes dates as
// "2026-11-01T00:00:00Z" instead.
//
// # Limits and faults
//
// Config.RateLimit (10) requests per second per session, a token bucket
// of ceil(RateLimit): above it, 429 with Retry-After: 1. Config.FaultRate
// and FailNext inject Config.FaultStatuses (500, 502, 503) into every /v3
// call but request-csrf and the logon (after the session and rate-limit
// checks; into the logout before anything). Downloads are neither limited
// nor faulted.
//
// # Clock and data
//
// Config.Clock drives everything, so a test moves time across midnights
// and month ends. The data clock — today, the listing, the report bounds
// and the times of grown rows — is Config.Clock plus an offset that
// CloseOpenDay adds to jump to the next UTC midnight (closing the open
// files early); sessions, CSRF tokens, URL expiry and the rate limit
// follow Config.Clock alone, so CloseOpenDay ends no session.
//
// Generate adds history (rows per day for Scale 1, weekends quieter,
// hours of the day weighted, 3% of days silent, a tenth as many
// exceptions, about 1% duplicates) from a client population that joins
// and leaves day by day; GrowSpan, Grow and StartGrowing add live rows to
// the open day only, never to a closed one; Add adds given rows. Rows,
// Header, Events, ClientDays, Files and Stats are the ground truth a test
// compares a client with.
package revenerasim
