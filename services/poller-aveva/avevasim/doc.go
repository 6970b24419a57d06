// Package avevasim simulates the AVEVA CONNECT Report data REST API of one
// account, with its record cap and failure modes, so that a client passing
// against it means something. A Server is an http.Handler for httptest and
// for the dev stack; cmd/avevasim runs it on its own.
//
// It is written from the API reference (seed 000) and the vendor notes, not
// from the poller's code: parameter names, accepted filters and the cap are
// defined here again on purpose.
//
// # Endpoints
//
// POST /identity/connect/token is the OAuth2 client-credentials grant: a
// form with grant_type=client_credentials, the client authenticated by HTTP
// Basic or the form fields client_id and client_secret. It answers
// {"access_token","token_type":"Bearer","expires_in"}; wrong credentials get
// 401 {"error":"invalid_client"}, another grant 400
// {"error":"unsupported_grant_type"}. The path is the one AVEVA's identity
// service uses for CONNECT data services; the reference does not name one.
//
// POST /reports/v1/integration/{creditsTransaction|userUsage|serviceUsage|
// resourceUsage} and GET /reports/v1/audit require Authorization: Bearer
// with an issued, unexpired token or Config.StaticToken; otherwise they
// answer 401. Errors are JSON {"status","title","detail"} (ASP.NET problem
// details), except the injected 502 and 504, which are HTML as a gateway
// sends them.
//
// # Parameters
//
// The usage reports take fromDate and toDate (mandatory) and their filters
// in a JSON object body ({"fromDate":"2023-09-15T13:30:00", ...}) or in the
// URL query; a parameter in both is taken from the body. The audit report
// takes range=Custom, from and to (mandatory) and locale, offset, user,
// operation, folder, service and function in the URL query. DateTimes are
// UTC: 2023-09-15T13:30:00 (a fraction of seconds and a trailing Z are
// accepted) or a date 2023-12-13 (midnight). A missing or malformed
// mandatory parameter, from after to, a range other than Custom, an offset
// outside −840..840 and a parameter the report does not accept are all 400
// with a detail that names the parameter: the simulator is stricter than a
// server that ignores unknown parameters, so that a client sending a filter
// to the wrong report fails here.
//
// Filters are the reference's: creditsTransaction takes hostingType,
// productName, productCode, user, folder, service and creditsAgreementId;
// userUsage user, folder and service; serviceUsage folder and service;
// resourceUsage folder, service and resourceId; audit user, operation,
// folder, service and function. A filter keeps the records whose member of
// that name equals the value, ignoring case.
//
// # The cap and the bounds
//
// A window selects the records whose instant t has from ≤ t < to
// (Config.InclusiveTo: t ≤ to), sorted by instant, records of one instant in
// insertion order. The response holds the first Config.MaxRecords (20,000)
// of them and says nothing about the rest: no total, no flag, no link.
//
// # Records and shapes
//
// Each report answers in a shape of its own, all of which the vendor notes
// allow: creditsTransaction a top-level array; userUsage {"data": [...],
// "count": n}; serviceUsage {"count": n, "items": [...]}; resourceUsage
// {"@odata.context": ..., "value": [...]}; audit {"status": "OK", "result":
// [...]} (n is the number of records returned, never a total). The record
// members are this simulator's reading of the reports, since the reference
// does not list them: every filter name is a member, plus a time member in a
// different format per report (transactionDate with milliseconds and no
// zone, loginTime, usageDate with Z, timestamp with +00:00, dateTime), a
// quantity (credits, durationMinutes, quantity as a number, quantity as a
// decimal string) and its unit where there is one, and an id for the
// records that have one (transactionId, audit id). Config.DuplicateRate
// repeats some records of the reports without id, identical, as a meter
// reporting twice in one second would.
//
// The audit report renders dateTime with the offset parameter (minutes, UTC
// minus local time, so −330 is India: UTC+5:30 is added) and the locale
// parameter: en-US "3/4/2024 3:45:30 PM", de* "04.03.2024 15:45:30", ja*
// "2024/03/04 15:45:30", any other "04/03/2024 15:45:30"; without locale
// ISO "2024-03-04T15:45:30".
//
// # Faults and limits
//
// Config.RateLimit is a token bucket per access token: above it, 429 with
// Retry-After in whole seconds. Config.FaultRate and FailNext inject 5xx
// answers (502 and 504 with an HTML body; 503 with Retry-After). Stats
// counts the answers, Served lists every window answered, and Records
// returns the ground truth as a client sending offset=0 and no locale
// receives it.
package avevasim
