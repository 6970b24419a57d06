// Package aveva reads the AVEVA CONNECT Report data REST API and normalizes
// its records to events. Each of the five reports is one stream with its own
// Source and cursor:
//
//   - creditsTransaction, userUsage, serviceUsage and resourceUsage:
//     POST /reports/v1/integration/{report} with fromDate and toDate, to
//     usage events (event.UsageSchema);
//   - audit: GET /reports/v1/audit?range=Custom&from&to&offset=0, to audit
//     events (event.AuditSchema).
//
// # What the API gives, and what it leaves out
//
// The reference (seed 000) documents the parameters and three facts: every
// DateTime parameter is UTC, written without zone as 2023-09-15T13:30:00;
// a response holds at most 20,000 records; and "if your query exceeds this
// limit, change the fromDate and toDate parameters". There is no paging, no
// total and no sign that a response was cut: a response of exactly the cap
// may be complete or truncated, and the only remedy is a narrower window.
//
// It does not say where the POST reports take their parameters. They are
// listed like the audit report's, which the reference says are in the URL
// "because the audit endpoint uses the GET method"; that reads as: the POST
// reports take them in the body. The client sends a JSON object
// {"fromDate": …, "toDate": …, filters…} by default and the URL query with
// AVEVA_USAGE_PARAMS=query. It does not say whether toDate is inclusive
// either, nor what the records look like; both are handled below.
//
// # Windows
//
// A new window starts where the cursor stands (last) and is AVEVA_WINDOW
// wide, ended early at now − SAFETY_LAG; both ends are whole UTC seconds,
// the precision of the DateTime parameters. When the end is not after last
// there is nothing to read yet: the page is Done and the cursor unchanged.
//
// # The cap: splitting
//
// A response holding AVEVA_MAX_RECORDS records (or more, should the server's
// cap be higher than the setting) may be truncated, so its window is split
// at its middle second and each half is fetched on its own, recursively,
// down to AVEVA_MIN_WINDOW. Only a window whose response came back under the
// cap is published; the records of a full response are dropped as soon as
// the cap is reached (reading stops there: the window will be fetched again
// in halves anyway).
//
// The cursor holds the windows still to fetch as a stack, "pending": split
// pushes the two halves of the first window in its place, and publishing
// pops the first. The windows stay contiguous and in time order, the first
// starting at last, so last always says how far the stream is complete. One
// Fetch goes down the left edge of the split tree until a window is under
// the cap and returns that window alone as its page, with the remaining
// stack in the next cursor: at most one response is held in memory at any
// time (a page of at most AVEVA_MAX_RECORDS records), and the stack is at
// most one window per halving (13 from 1h to 1s). A restart in the middle of
// a split window continues at the first pending window: nothing is fetched
// twice, and no window is published twice, since a page's cursor is saved
// only after Kafka has every record of the page.
//
// Cost: a window holding n records over the cap C costs one call per node of
// the split tree. With n evenly spread, the tree is complete down to the
// level where windows hold fewer than C records: for n = 50,000 and C =
// 20,000 that is 1 + 2 + 4 = 7 calls, 4 of them published
// (TestSplitCallCount measures it against the simulator). Records bunched
// in time cost more: the tree is deeper only where they are.
//
// AVEVA_MIN_WINDOW defaults to 1s. The API's DateTime parameters have
// whole seconds, so no narrower window can be asked for, and going all the
// way down costs little: only the full windows are split, one extra level
// costs at most two calls for each of them, and 1h to 1s is 12 levels. A
// wider minimum (say 1m) would give up records that a few more calls
// recover.
//
// If even a minimum window comes back full, the records past the cap
// cannot be fetched through this API. The Source then publishes the records
// it got, moves on, and says so loudly: an error log, the counter
// auditstream.aveva.windows.truncated, and a Page.DeadLetters entry (stage
// FETCH) describing the report, window, count and filters, which the
// pipeline produces to the dead-letter topic with the page. Stopping the
// stream instead would hold every later record of the report back forever
// for records no retry can bring; dropping the window would lose the
// records that did come back. A full minimum window means a second with more
// than 20,000 records of one report; narrowing it further would need the
// filters (a window per user or folder), which a poller cannot enumerate.
//
// An alternative to bisection would continue after the last record of a
// full response, assuming the API returns the first records of a window in
// time order. The order of records is not documented, so the Source does
// not rely on it.
//
// # Bounds and duplicates
//
// The simulator treats windows as [from, to). A server whose to is
// inclusive serves a record that lies exactly on a window end twice: as the
// last of one window and the first of the next (at second precision, any
// record of the second [to, to+1s) may be served twice). The cursor's
// "seen" keeps the identity hashes of the records of that second that were
// emitted; the next window skips those (and only those) among its records of
// its first second. So the cursor's invariant is: every record before last
// has been emitted; of the records in [last, last+1s), exactly those in
// seen; nothing else. A record that lies before last and comes back (a
// server that widens windows) is emitted again: a duplicate with the same
// event id, never a loss.
//
// # Identity
//
// An event id is event.ID over vendor, tenant, stream and the record's
// natural identity: "id:<value>" of the record's own id member when it has
// one (IDFields), else the SHA-256 of its canonical JSON. Identical records
// in one window (same content, so the same instant) are records of their
// own: the k-th repeat gets "#k", the first keeps the plain hash; the count
// runs over the window's response in served order, so a replay of the
// window gives the same ids. A record without a usable time adds the start
// of its window ("@2024-03-04T10:00:00Z") to its hash: identical timeless
// records of two windows stay two events, and a replay fetches the same
// window, since windows only change after they are published.
//
// # Responses
//
// The response fields are not documented either. DecodeRecords accepts a
// top-level JSON array, or an object whose records are under data, items,
// records, value or result (case-insensitive, also nested: {"data":
// {"items": [...]}}), and reads it as a stream with encoding/json's Token
// and More: each record is kept once, as its own bytes, and the body is
// never held whole.
//
// # Events
//
// NewNormalizer maps what it recognises (the members listed in types.go and
// normalize.go, matched by name, then case-insensitively) and keeps every
// other member, unchanged, in dimensions (usage) or attributes (audit),
// objects flattened to dotted keys; raw keeps the record byte for byte. A
// record without usable time gets its window's start as event_time and
// auditstream.time_source=window_start. Audit DateTime fields are asked for
// in UTC (offset=0) and, when AVEVA_LOCALE is set, parsed in that locale's
// format.
package aveva
