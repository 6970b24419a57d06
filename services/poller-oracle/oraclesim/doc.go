// Package oraclesim simulates the Oracle EPM Cloud REST API of one service
// instance as far as a user audit poller uses it — the asynchronous User
// Audit Report (submit, job status, download, delete) and its synchronous
// successor, the User Login Report — with its limits and failure modes, so
// that a client passing against it means something. A Server is an
// http.Handler for httptest and for the dev stack; cmd/oraclesim runs it
// on its own.
//
// It is written from the vendor's API page (seed 003) and the vendor
// notes, not from the poller's code. Where the vendor's page is silent,
// the choice made here is said so below; error codes and texts are this
// simulator's own, in the vendor's EPMCSS-nnnnn style.
//
// # Authentication
//
// Every path under /interop/rest/ takes either HTTP Basic or an OAuth2
// bearer token. The Basic user is "<IdentityDomain>.<Username>" when
// Config.IdentityDomain is set (classic EPM Cloud) and Username alone when
// it is empty (OCI); Config.MFA refuses Basic altogether, as the vendor
// does for users with multi-factor authentication. Bearer tokens come from
// POST /oauth2/v1/token, the client-credentials grant (form
// grant_type=client_credentials, client by Basic or client_id and
// client_secret), and expire after Config.TokenTTL. Anything else is 401
// with WWW-Authenticate and the body
//
//	{"status":9,"details":"EPMCSS-00301: Failed to authenticate. Invalid credentials."}
//
// # Answers
//
// Every JSON answer is application/json with a "status" and a "details"
// member: status -1 is a running job (and a submit's answer), 0 success,
// 1 an error (a failed job, a bad request, a limit, an injected 500 or
// 503), 8 not found, 9 authentication failed. An injected 502 or 504 is a
// gateway's HTML page instead. Every API request passes, in this order,
// the rate limit (Config.RateLimit per second across all paths and
// clients, a token bucket; over it 429 with Retry-After in whole seconds),
// injected faults (FailNext, then Config.FaultRate drawing from
// Config.FaultStatuses; 503 carries Retry-After: 1) and authentication;
// only then is it routed. An unknown path, an unknown version segment
// (the submit is only v1, everything else only 11.1.2.3.600) and a wrong
// method (405 with Allow) are JSON errors too. The token endpoint has no
// rate limit and no faults.
//
// # Submit
//
//	POST /interop/rest/v1/reports?q={"type":"userauditreport","fileName":"x.csv","since":"2022-07-01","until":"2022-07-28"}
//
// with q URL-encoded and Content-Type application/x-www-form-urlencoded
// (any other, or none, is 415; a body is ignored). q must be a JSON object
// of strings with those exact member names: the unquoted form of the
// vendor's cURL sample is not JSON and is refused (400). The version
// segment must be v1, as the page's resource says (its Java and Groovy
// samples use the LCM version; that is 404 here). 400 answers, all status
// 1: type missing or unknown; provisionreport ("not supported by the
// simulator"); fileName missing, with '/' or '\', or with surrounding
// spaces; a date that is not YYYY-MM-DD; and "Invalid date range" when
// until is before since, since is older than Config.RetentionDays days
// (the oldest day served is today (UTC) minus 120 days; the details say
// "older than 120 days"), or until is after today. until may be today, the
// day still open. A name that is already a file, or the name of a job
// still running (a hung one forever), is 400 "… A file with the name x.csv
// already exists." A failed job's name is free again, and so is a deleted
// file's.
//
// Success is 200:
//
//	{"status":-1,"details":null,"links":[
//	  {"rel":"self","href":"<the request URL>","data":null,"action":"POST"},
//	  {"rel":"Job Status","href":"http://host/interop/rest/11.1.2.3.600/jobs/<id>?token=<token>","data":null,"action":"GET"}]}
//
// Links are absolute: Config.PublicURL, or the request's scheme and Host.
// The job id and token are random: a client cannot build the status URL
// from the file name, it must keep the link.
//
// Config.LostSubmitRate (and LoseNextSubmits) make a valid submit create
// its job and then answer 502 with a gateway's HTML page, as when the
// answer is lost between the service and the client. The job runs and its
// file appears under the submitted name like any other; submitting that
// name again is 400 "already exists" while the job runs and once its file
// exists. A client that retries a lost submit with a new name leaves the
// first file behind unless it deletes it; Jobs, JobsFor and Stats show
// jobs made twice for one range.
//
// # Job status
//
// GET on the Job Status link answers 200
//
//	{"status":-1,"details":"In Process","links":[{"rel":"self",…,"action":"GET"}],"items":null}
//
// until the job ends with status 0 and details "Completed", or with status
// 1 and details "EPMCSS-20643: Failed to generate the user audit report.
// Internal error." (and no file). An unknown id or a wrong or missing
// token is 404 status 8. A job runs for a random time in [Config.JobMin,
// Config.JobMax] of the Clock; Config.JobFailRate (and FailNextJobs) make
// it fail, Config.JobHangRate (and HangNextJobs) make it run forever. A
// job ends when anything looks at jobs after its deadline (any request to
// the API, Stats, Snapshots, Jobs); its file holds the rows as they were at
// the deadline — the merged rows of the range whose time is not after it —
// so a report that covers today holds only the logins up to then.
//
// # Download and delete
//
//	GET    /interop/rest/11.1.2.3.600/applicationsnapshots/{fileName}/contents
//	DELETE /interop/rest/11.1.2.3.600/applicationsnapshots/{fileName}
//
// The name is one path segment, percent-decoded from the escaped path: a
// space must be sent as %20 ('+' is a plus sign) and '/' as %2F. The
// download of an existing file is 200 application/octet-stream with
// Content-Length: the ZIP. A name without a file (job running or failed,
// deleted, never submitted) is 404 application/json {"status":8,"details":
// "EPMCSS-20700: Snapshot x.csv not found."}. Delete answers 200
// {"status":0,"details":null}, or that 404. Files stay until deleted;
// Snapshots and Stats.Snapshots show what a client left behind.
//
// # The file
//
// A ZIP (Deflate) with exactly one entry named like the file name, whose
// content is, with every line ending in CRLF: the UTF-8 byte-order mark
// (EF BB BF); the application's encrypted id in double quotes on its own
// line (a base64 string fixed per Server, ApplicationID); the header row;
// one line per row. Fields are written by encoding/csv, so a field with a
// comma, a quote or a line break is quoted (every access time has a
// comma). The header rows (Config.HeaderStyle):
//
//	classic  User Login,User Name,IP Address,Access Date and Time
//	alt      User ID,IP Address,Access Time
//	mixed    ACCESS DATE AND TIME,ip address,User Login,User Name,Service
//
// where Service is always "Planning". Access times are UTC in Go's layout
// "January 2, 2006 15:04:05 MST" (AccessTimeLayout): "July 28, 2022
// 18:43:21 UTC", single-digit days unpadded. Rows are ordered by user
// login (byte order, so upper case first), then time, then IP address,
// then name — not by time: a client must not assume time order. The same
// logins always give byte-identical rows in the same order.
//
// # Rows: the five-minute merge
//
// The store holds raw logins (time in whole seconds, login, name — maybe
// empty —, IPv4 or IPv6 address), indexed by UTC day. The vendor says only
// that several logins by one user within five minutes appear as one row;
// the rule here is: per (login, IP address, UTC day), walking the logins
// in time order, a group starts at a login and absorbs the following
// logins less than five minutes after the group's first login; the row is
// the group's first login (its time and name). So logins at 10:00:00,
// 10:03:00, 10:04:59 and 10:05:00 are the rows 10:00:00 and 10:05:00, and
// a row once published never changes as logins are appended after it.
// Logins from two addresses, or on both sides of midnight, are separate
// rows. The rows of since..until are the merged rows with time in
// [since 00:00, until+1 day 00:00) UTC.
//
// Generate adds history with a daily pattern (busy UTC working hours,
// quiet nights, weekends at a quarter) and bursts (a quarter of sittings
// log in two to six times, some at the same second); users have e-mail
// logins, display names (one in twenty empty) and one to three addresses
// (a fifth IPv6), and a few have commas, quotes, apostrophes, '+',
// upper case or non-ASCII letters in their login or name. StartGrowing and
// GrowAt add logins at the Clock's time. Rows returns the ground truth.
//
// # User Login Report (successor)
//
//	GET /interop/rest/security/v1/report/userloginreport?from_date=2022-07-01&to_date=2022-07-28
//
// answers synchronously 200
//
//	{"status":0,"details":null,"items":[{"userLogin":"…","userName":"…","ipAddress":"…","accessTime":"July 28, 2022 18:43:21 UTC"},…]}
//
// with the same rows in the same order as the file of the same range
// would hold at that moment; Config.LoginReportKey renames "items" to
// "data" or "result". A missing or malformed date, to_date before
// from_date, from_date beyond the retention or to_date after today is 400
// {"status":1,"details":"Invalid date range: …"}.
package oraclesim
