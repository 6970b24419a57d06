// Package epmsim simulates the CyberArk Endpoint Privilege Manager (EPM)
// REST API of one tenant as far as an admin audit poller uses it — logon,
// the set list and the admin audit of each set — with its limits and
// failure modes, so that a client passing against it means something. A
// Server is an http.Handler for httptest and for the dev stack; cmd/epmsim
// runs it on its own.
//
// # Dispatcher and manager
//
// One Server plays both roles of the vendor's deployment. The dispatcher
// answers only the logon, at the root:
//
//	POST /EPM/API[/{version}]/Auth/EPM/Logon
//	{"Username","Password","ApplicationID"}
//
// which returns {"IsPasswordExpired","EPMAuthenticationResult","ManagerURL"}.
// ManagerURL is the request's scheme and host followed by
// Config.ManagerPath ("/epm-manager"), or Config.ManagerURL. Every other
// call must go there; the same call sent to the dispatcher is answered 404
// with EPM000004E, as a client that ignores ManagerURL deserves. The
// version segment is optional (absent: the latest) and must look like
// x.x.x.x.
//
// # Sessions
//
// The manager requires "Authorization: basic <token>" (the scheme in any
// case). A token expires after Config.SessionTimeout without calls (the
// tenant's "timeout for inactive session") and after Config.TokenMaxAge in
// any case; an unknown or expired token is answered 401. Every accepted
// call renews the inactivity timeout.
//
// # Endpoints of the manager
//
// GET {manager}/EPM/API[/{version}]/Sets[?Offset&Limit] returns
// {"Sets":[{"Id","Name","Description","IsNPVDI","IsVDI"}],"SetsCount"}.
//
// GET {manager}/EPM/API[/{version}]/Sets/{SetID}/AdminAudit returns
// {"TotalCount","AdminAudits":[…]} with the documented record members
// SetName, EventTime, PermissionDescription, Description, Feature, LoggedAt,
// LoggedFrom, Administrator, InternalSessionId (a number) and Role. Its
// parameters:
//
//   - DateFrom and DateTo, exactly YYYY-MM-DDThh:mm:ssZ, both inclusive:
//     a record is selected when DateFrom <= EventTime and EventTime,
//     truncated to the second, <= DateTo. Without either, the last day is
//     selected; with one, everything on its side. DateFrom after DateTo
//     selects nothing.
//   - Offset (default 0) and Limit (default 50, at most Config.MaxLimit,
//     500); anything else is 400.
//
// Records are served by EventTime ascending, records of one instant in
// insertion order; TotalCount counts the whole selection at the time of the
// call. A set the account cannot see is 403.
//
// A URL value (or path segment) holding '+', '&' or '%' is answered 400
// with EPM000006E, as the vendor documents these characters as unsupported:
// a client must write dates with "Z" and must not percent-encode them.
// Errors are JSON arrays [{"ErrorCode","ErrorMessage"}]; the codes are this
// simulator's own.
//
// # Records
//
// Generate, Append and GrowSpan add records. EventTime and LoggedAt carry
// milliseconds with trailing zeros trimmed, as the vendor's .NET service
// writes them ("2024-11-25T05:37:30.29Z", "…:28Z"). Administrators are
// e-mail addresses or plain user names; LoggedFrom is IPv4, IPv6 or empty;
// features are sign-ins, account and role administration, policies,
// computers, sets and other console and API activity. Many records share
// one EventTime (bursts), some of them identical in every member.
//
// # Faults and limits
//
// Config.Limits (by default the vendor's 5 calls per second and 1,000 per
// 5 minutes per tenant) are sliding windows over the accepted manager
// calls; a call over one is answered 429 with Retry-After in whole seconds
// and is not counted. Config.FaultRate and FailNext inject 5xx answers (502
// and 504 with an HTML body, 503 with Retry-After). AddSet adds a set while
// the server runs. Stats counts the answers; Records returns the ground
// truth.
package epmsim
