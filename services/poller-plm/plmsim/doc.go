// Package plmsim simulates the Autodesk Fusion Manage (PLM 360) v3
// system-logs API of one tenant, with its limits and failure modes, so that a
// client passing against it means something. A Server is an http.Handler for
// httptest and for the dev stack; cmd/plmsim runs it on its own.
//
// # Endpoints
//
// POST /authentication/v2/token is the OAuth2 client-credentials grant:
// a form with grant_type=client_credentials, the client authenticated by
// HTTP Basic or the form fields client_id and client_secret. It answers
// {"access_token","token_type":"Bearer","expires_in"}; wrong credentials get
// 401 {"error":"invalid_client"}, another grant 400
// {"error":"unsupported_grant_type"}.
//
// GET /api/v3/tenants/{TENANT}/system-logs requires Authorization: Bearer
// with an issued, unexpired token (or Config.StaticToken) and X-user-id with
// one of Config.UserIDs; otherwise it answers 401 with a JSON body
// {"errorCode","message"} whose errorCode says what is wrong: MISSING_TOKEN,
// INVALID_TOKEN, EXPIRED_TOKEN, MISSING_USER_ID or UNKNOWN_USER_ID. Another
// tenant is 404 and an Accept header that excludes application/json is 406.
//
// # Query parameters
//
//   - offset (default 0) and limit (default 100, at most Config.MaxLimit,
//     1000 by default); anything else is 400.
//   - type=item or type=system selects one log with its whole history.
//     Without type both logs are mixed and only records of the last
//     Config.MixedWindow (60 days) are returned, even when date filters reach
//     further back.
//   - filter[from.date] and filter[to.date], YYYY-MM-DD: whole days in the
//     tenant's zone, both inclusive. A malformed date is 400; from after to
//     selects nothing.
//   - filter[user.title], filter[user.email], filter[description]: a
//     case-insensitive substring; filter[user.id]: the whole id,
//     case-insensitive. Filters combine with AND, repeated values of one
//     filter with OR. An unknown filter[...] is 400.
//   - sort=<field> [asc|desc] with field timestamp (or date), description or
//     user.title; the direction defaults to asc. Timestamps sort by instant,
//     never by their text; every sort is stable, so records with equal keys
//     keep their insertion order (for timestamps: the order of Record.Seq).
//     Without sort, records are newest first.
//
// # Pages
//
// A page is {"__self__","offset","limit","totalCount","first","next","last",
// "items"}; first, next and last are {"link","title","deleted","count"}. The
// links carry every parameter of the request (type, filters, sort) with
// their offset. last is at the greatest multiple of limit below totalCount.
// As on the vendor's service, next does not end: on the last page (and so on
// the only one) it points to offset 0 again, so a client must stop on
// totalCount.
//
// # Records
//
// Items are shaped like the vendor's sample: description, timestamp (with
// milliseconds and the numeric offset of the tenant's zone, e.g.
// 2019-11-12T14:56:14.259-05:00, so -05:00 and -04:00 alternate across DST in
// America/New_York; with Config.AltLocations some records carry other
// offsets), action, details (an array of {"fieldName","oldValue","newValue"},
// null where a value was absent, [] for log-ins) and user {link, urn, title,
// status, email, image{small, medium, large}}. Item records also carry
// item {link, urn, title} and workspace {link, urn, title}; "Workspace
// Settings Changed" system records carry workspace. These two objects are
// this simulator's reading of the vendor's data model, not documented in the
// vendor's sample.
//
// System actions are Log In, Log Out, Log In Failed, User Created, User
// Updated, User Deactivated, Group Membership Changed, Role Assigned, Tenant
// Settings Changed, Workspace Settings Changed and Script Changed; item
// actions are Item Viewed, Item Edited, Item Created, Workflow Transition,
// Attachment Added, BOM Changed, Lifecycle Changed and Item Deleted. Several
// records often share one millisecond.
//
// # Growth
//
// The log grows: Append and GrowSpan add records for tests, Grow and
// StartGrowing add them over time. New records at or after the newest are
// appended at the end, so ascending offset paging over a closed window stays
// valid while totalCount of an open one grows; newest-first paging shifts.
// Config.LateRate makes Grow index some records late, up to Config.LateBy
// before the present, among records a client may already have read: only a
// client that keeps its windows that far behind the present sees them all.
//
// # Faults and limits
//
// Config.RateLimit is a token bucket per access token: above it, 429 with
// Retry-After in whole seconds. Config.FaultRate and FailNext inject 5xx
// answers (502 and 504 with an HTML body, as a gateway sends them; 503 with
// Retry-After), Config.SlowRate and SlowNext delay answers. All are off by
// default and deterministic for sequential requests given Config.Seed.
// Stats counts the answers; Records returns the ground truth.
package plmsim
