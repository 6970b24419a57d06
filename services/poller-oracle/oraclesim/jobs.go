package oraclesim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// ReportType is the only report type the simulator generates.
const ReportType = "userauditreport"

// jobFailed is the details of a job that ended with status 1.
const jobFailed = "EPMCSS-20643: Failed to generate the user audit report. Internal error."

// JobState is where a report job is.
type JobState string

// The states of a job.
const (
	// JobRunning is a job whose run time has not passed (or that hangs).
	JobRunning JobState = "running"
	// JobSucceeded is a job that ended with status 0 and made its file.
	JobSucceeded JobState = "succeeded"
	// JobFailed is a job that ended with status 1 and no file.
	JobFailed JobState = "failed"
)

// Job is one report job as the simulator keeps it: the ground truth a test
// compares a client's behaviour with.
type Job struct {
	// ID is the job's random id, the last path segment of its status URL.
	ID string
	// FileName is the submitted file name.
	FileName string
	// Since and Until are the submitted days, YYYY-MM-DD.
	Since, Until string
	// Created is the Clock time of the submit.
	Created time.Time
	// Deadline is when the job ends; zero for a job that hangs.
	Deadline time.Time
	// State is where the job is.
	State JobState
	// Hung reports a job chosen never to end.
	Hung bool
	// Lost reports a job whose submit was answered 502.
	Lost bool
	// Rows is the number of rows of the job's file, once it succeeded.
	Rows int
}

// job is a Job with what the server keeps to itself.
type job struct {
	Job
	token        string
	since, until time.Time
	fail         bool
}

// outcome is a queued job outcome.
type outcome int

const (
	outcomeFail outcome = iota + 1
	outcomeHang
)

// FailNextJobs makes the next n jobs end with status 1 and no file,
// whatever Config.JobFailRate says.
func (s *Server) FailNextJobs(n int) { s.queue(n, outcomeFail) }

// HangNextJobs makes the next n jobs never end.
func (s *Server) HangNextJobs(n int) { s.queue(n, outcomeHang) }

func (s *Server) queue(n int, o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.queued = append(s.queued, o)
	}
}

// LoseNextSubmits makes the next n valid submits create their job and
// answer 502, whatever Config.LostSubmitRate says.
func (s *Server) LoseNextSubmits(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseNext += n
}

// Jobs returns every job created, in creation order, after ending the
// jobs whose time has come.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.cfg.Clock())
	out := make([]Job, len(s.order))
	for i, j := range s.order {
		out[i] = j.Job
	}
	return out
}

// JobsFor returns the number of jobs created for the range since..until
// (YYYY-MM-DD), lost submits included: more than one for a closed range
// means a client asked for the same report again.
func (s *Server) JobsFor(since, until string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perRange[[2]string{since, until}]
}

// submitParams are the members of the submit's q parameter.
type submitParams struct {
	typ, fileName, since, until string
}

// parseQ reads the q parameter of a submit: a JSON object of strings.
func parseQ(r *http.Request) (submitParams, string) {
	var p submitParams
	vals := r.URL.Query()["q"]
	if len(vals) != 1 {
		return p, `EPMCSS-20642: Invalid parameter: the report parameters must be given once, as q={"type":"userauditreport","fileName":"…","since":"YYYY-MM-DD","until":"YYYY-MM-DD"} (URL-encoded).`
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vals[0]), &m); err != nil || m == nil {
		return p, fmt.Sprintf("EPMCSS-20642: Invalid parameter: q is not a JSON object: %q.", vals[0])
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"type", &p.typ}, {"fileName", &p.fileName}, {"since", &p.since}, {"until", &p.until}} {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return p, fmt.Sprintf("EPMCSS-20642: Invalid parameter: %s must be a string, got %s.", f.name, raw)
		}
	}
	return p, ""
}

// validateSubmit checks the parameters of a submit at now and returns the
// parsed days, or the details of a 400.
func (s *Server) validateSubmit(p submitParams, now time.Time) (since, until time.Time, msg string) {
	switch {
	case p.typ == "":
		return since, until, "EPMCSS-20642: Invalid parameter: type is required; use userauditreport."
	case p.typ == "provisionreport":
		return since, until, "EPMCSS-20645: Report type provisionreport is not supported by the simulator; use userauditreport."
	case p.typ != ReportType:
		return since, until, fmt.Sprintf("EPMCSS-20642: Invalid report type %q; use provisionreport or userauditreport.", p.typ)
	case p.fileName == "":
		return since, until, "EPMCSS-20642: Invalid parameter: fileName is required."
	case strings.ContainsAny(p.fileName, `/\`) || strings.TrimSpace(p.fileName) != p.fileName:
		return since, until, fmt.Sprintf("EPMCSS-20642: Invalid file name %q.", p.fileName)
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", p.since, &since}, {"until", p.until, &until}} {
		t, err := time.Parse(DateLayout, d.v)
		if err != nil {
			return since, until, fmt.Sprintf("EPMCSS-20642: Invalid date %q for %s; use YYYY-MM-DD.", d.v, d.name)
		}
		*d.dst = t
	}
	return since, until, s.checkRange(since, until, now, "since", "until")
}

// handleSubmit answers POST /interop/rest/v1/reports?q=….
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		s.fail(w, http.StatusUnsupportedMediaType, statusError, fmt.Sprintf("EPMCSS-00415: Unsupported media type %q; send the request as application/x-www-form-urlencoded.", r.Header.Get("Content-Type")))
		return
	}
	p, msg := parseQ(r)
	now := s.cfg.Clock()
	var since, until time.Time
	if msg == "" {
		since, until, msg = s.validateSubmit(p, now)
	}
	if msg != "" {
		s.fail(w, http.StatusBadRequest, statusError, msg)
		return
	}

	s.mu.Lock()
	s.advanceLocked(now)
	if s.nameTakenLocked(p.fileName) {
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, statusError, fmt.Sprintf("EPMCSS-20644: Failed to generate the user audit report. A file with the name %s already exists.", p.fileName))
		return
	}
	j := s.createLocked(p, since, until, now)
	s.mu.Unlock()

	if j.Lost {
		s.stats.lostSubmits.Add(1)
		s.stats.serverErrors.Add(1)
		simkit.WriteFailure(w, http.StatusBadGateway)
		return
	}
	base := s.baseURL(r)
	simkit.WriteJSON(w, http.StatusOK, submitBody{
		Status: statusRunning,
		Links: []link{
			{Rel: "self", Href: base + r.URL.RequestURI(), Action: http.MethodPost},
			{Rel: "Job Status", Href: base + statusPath(j), Action: http.MethodGet},
		},
	})
}

// submitBody is the answer of an accepted submit.
type submitBody struct {
	Status  int     `json:"status"`
	Details *string `json:"details"`
	Links   []link  `json:"links"`
}

// statusPath returns the path and query of a job's status URL.
func statusPath(j *job) string {
	return RESTPrefix + LCMVersion + "/jobs/" + j.ID + "?token=" + j.token
}

// nameTakenLocked reports whether a file or a running job has name. The
// caller holds s.mu.
func (s *Server) nameTakenLocked(name string) bool {
	if s.snapshots[name] != nil {
		return true
	}
	return slices.ContainsFunc(s.running, func(j *job) bool { return j.FileName == name })
}

// createLocked creates the job of a valid submit at now and chooses its
// run time, its outcome and whether its answer is lost. The caller holds
// s.mu.
func (s *Server) createLocked(p submitParams, since, until, now time.Time) *job {
	j := &job{
		Job: Job{
			ID: randomHex(12), FileName: p.fileName,
			Since: since.Format(DateLayout), Until: until.Format(DateLayout),
			Created: now, State: JobRunning,
		},
		token: randomHex(16),
		since: since, until: until,
	}
	// Every draw is made for every job, so that one setting does not
	// change the others' choices.
	hang := s.rng.Float64() < s.cfg.JobHangRate
	j.fail = s.rng.Float64() < s.cfg.JobFailRate
	run := s.cfg.JobMin
	if spread := s.cfg.JobMax - s.cfg.JobMin; spread > 0 {
		run += time.Duration(s.rng.Int64N(int64(spread) + 1))
	}
	j.Lost = s.rng.Float64() < s.cfg.LostSubmitRate
	if len(s.queued) > 0 {
		o := s.queued[0]
		s.queued = s.queued[1:]
		hang, j.fail = o == outcomeHang, o == outcomeFail
	}
	if s.loseNext > 0 {
		s.loseNext--
		j.Lost = true
	}
	if hang {
		j.Hung = true
		j.fail = false
		s.stats.jobsHung.Add(1)
	} else {
		j.Deadline = now.Add(run)
	}
	s.jobs[j.ID] = j
	s.order = append(s.order, j)
	s.running = append(s.running, j)
	key := [2]string{j.Since, j.Until}
	s.perRange[key]++
	if s.perRange[key] > 1 {
		s.stats.duplicateJobs.Add(1)
	}
	s.stats.jobs.Add(1)
	return j
}

// randomHex returns n random bytes in hex: ids and tokens no client can
// guess or rebuild.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails.
	return hex.EncodeToString(b)
}

// advanceLocked ends the running jobs whose deadline is not after now:
// a failing one with status 1, the others with their file, built from the
// rows as they were at the deadline. The caller holds s.mu.
func (s *Server) advanceLocked(now time.Time) {
	kept := s.running[:0]
	for _, j := range s.running {
		if j.Hung || now.Before(j.Deadline) {
			kept = append(kept, j)
			continue
		}
		s.finishLocked(j)
	}
	clear(s.running[len(kept):])
	s.running = kept
}

// finishLocked ends j at its deadline. The caller holds s.mu.
func (s *Server) finishLocked(j *job) {
	if !j.fail {
		rows := s.st.report(j.since, j.until, j.Deadline)
		z, err := zipFile(j.FileName, j.Deadline, ReportCSV(s.appID, s.cfg.HeaderStyle, rows))
		if err == nil {
			s.snapshots[j.FileName] = &snapshot{name: j.FileName, zip: z, rows: len(rows), created: j.Deadline}
			j.State, j.Rows = JobSucceeded, len(rows)
			s.stats.jobsSucceeded.Add(1)
			return
		}
		s.cfg.Logger.Error("build the report file", "file", j.FileName, "error", err)
	}
	j.State = JobFailed
	s.stats.jobsFailed.Add(1)
}

// jobStatusBody is the answer of a job status request.
type jobStatusBody struct {
	Status  int    `json:"status"`
	Details string `json:"details"`
	Links   []link `json:"links"`
	Items   any    `json:"items"`
}

// handleJobStatus answers GET /interop/rest/11.1.2.3.600/jobs/{id}?token=….
func (s *Server) handleJobStatus(w http.ResponseWriter, r *http.Request, id string) {
	token := r.URL.Query().Get("token")
	s.mu.Lock()
	s.advanceLocked(s.cfg.Clock())
	j := s.jobs[id]
	var state JobState
	ok := j != nil && token != "" && simkit.Equal(token, j.token)
	if ok {
		state = j.State
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, statusNotFound, fmt.Sprintf("EPMCSS-20701: Job %s not found.", id))
		return
	}
	body := jobStatusBody{Links: []link{{Rel: "self", Href: s.baseURL(r) + r.URL.RequestURI(), Action: http.MethodGet}}}
	switch state {
	case JobRunning:
		body.Status, body.Details = statusRunning, "In Process"
	case JobSucceeded:
		body.Status, body.Details = statusOK, "Completed"
	default:
		body.Status, body.Details = statusError, jobFailed
	}
	simkit.WriteJSON(w, http.StatusOK, body)
}
