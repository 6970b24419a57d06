package revenerasim

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// urlMemory is how long an expired download URL is remembered, so that it
// is told apart from one never issued.
const urlMemory = time.Hour

// File is one raw file of a listing.
type File struct {
	// Name is the file name, e.g. "2876543210_customEvents_2026-12-03.zip".
	Name string
	// Period is the file's day ("2026-12-03") or month ("2026-11").
	Period string
	// Open reports today's growing file; Monthly a monthly file.
	Open, Monthly bool
	// From and To are the UTC midnights its rows lie between: From <= t <
	// To.
	From, To time.Time
	// Size is the byte size of the ZIP now.
	Size int
}

// Listing is what listFiles answers now.
type Listing struct {
	// Open holds today's file.
	Open []File
	// Daily holds the closed days' files, newest first.
	Daily []File
	// Monthly holds the ended months' files, newest first.
	Monthly []File
}

// fileRef is one file of a product's listing.
type fileRef struct {
	name          string
	period        string
	kind          int
	from, to      int // days, inclusive
	open, monthly bool
}

// built is a file's ZIP, built from the rows of a version of its days.
type built struct {
	version uint64
	data    []byte
	etag    string
}

// downloadURL is an issued download URL.
type downloadURL struct {
	product   *product
	kind      int
	name, sig string
	expires   time.Time
}

// filesState is the cache of built files and the issued URLs.
type filesState struct {
	mu    sync.Mutex
	cache map[fileKey]*built
	urls  map[string]*downloadURL // token → URL
}

// fileKey names a file of a product.
type fileKey struct {
	product int64
	name    string
}

func (f *filesState) init() {
	f.cache = map[fileKey]*built{}
	f.urls = map[string]*downloadURL{}
}

// monthStart returns the day number of the first day of the month i
// months after the month of day d (i may be negative).
func monthStart(d, i int) int {
	t := dayTime(d)
	return dayNumber(time.Date(t.Year(), t.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC))
}

// listing returns the files of kind of p at data time now: the open file,
// the daily files newest first, the monthly files newest first.
func (s *Server) listing(p *product, kind int, now time.Time) (open fileRef, daily, monthly []fileRef) {
	tag := Kinds[kind]
	if s.cfg.ShortFileNames {
		tag = [2]string{"cust", "exc"}[kind]
	}
	name := func(period string) string { return fmt.Sprintf("%d_%s_%s.zip", p.ID, tag, period) }
	today := dayNumber(now)
	day := func(d int, isOpen bool) fileRef {
		period := dayTime(d).Format(time.DateOnly)
		return fileRef{name: name(period), period: period, kind: kind, from: d, to: d, open: isOpen}
	}
	open = day(today, true)
	for d := today - 1; d >= today-s.cfg.DailyDays; d-- {
		daily = append(daily, day(d, false))
	}
	for i := 1; i <= s.cfg.RetentionMonths; i++ {
		from, to := monthStart(today, -i), monthStart(today, -i+1)-1
		period := dayTime(from).Format("2006-01")
		monthly = append(monthly, fileRef{name: name(period), period: period, kind: kind, from: from, to: to, monthly: true})
	}
	return open, daily, monthly
}

// lookup returns the file of kind of p named name at data time now.
func (s *Server) lookup(p *product, kind int, name string, now time.Time) (fileRef, bool) {
	open, daily, monthly := s.listing(p, kind, now)
	if name == open.name {
		return open, true
	}
	for _, lists := range [][]fileRef{daily, monthly} {
		for _, f := range lists {
			if f.name == name {
				return f, true
			}
		}
	}
	return fileRef{}, false
}

// build returns f's ZIP as of now, from the cache when its days have not
// changed since it was built.
func (s *Server) build(p *product, f fileRef) *built {
	s.st.mu.RLock()
	days, version := p.rowsLocked(f.kind, f.from, f.to)
	s.st.mu.RUnlock()
	key := fileKey{p.ID, f.name}
	s.files.mu.Lock()
	b := s.files.cache[key]
	s.files.mu.Unlock()
	if b != nil && b.version == version {
		return b
	}
	b = &built{version: version, data: zipCSV(strings.TrimSuffix(f.name, ".zip")+".csv", dayTime(f.from), Header(Kinds[f.kind]), days)}
	sum := md5.Sum(b.data)
	b.etag = `"` + hex.EncodeToString(sum[:]) + `"`
	s.files.mu.Lock()
	if old := s.files.cache[key]; old == nil || old.version < version {
		s.files.cache[key] = b
	}
	s.files.mu.Unlock()
	return b
}

// zipCSV returns a ZIP holding one Deflate entry name, modified at
// modified: the CSV of header and rows, CRLF line ends, quoted as
// encoding/csv quotes.
func zipCSV(name string, modified time.Time, header []string, days [][]row) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	// Writes to a bytes.Buffer do not fail.
	fw, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
	cw := csv.NewWriter(fw)
	cw.UseCRLF = true
	_ = cw.Write(header)
	for _, rows := range days {
		for _, r := range rows {
			_ = cw.Write(r.fields)
		}
	}
	cw.Flush()
	_ = zw.Close()
	return buf.Bytes()
}

// Files returns the listing of kind (CustomEvents or Exceptions) of a
// product as listFiles answers it now, with the sizes of the ZIPs. It
// returns an empty Listing for an unknown product and panics on an
// unknown kind.
func (s *Server) Files(productID int64, kind string) Listing {
	k := kindIndex(kind)
	p := s.product(productID)
	var l Listing
	if p == nil {
		return l
	}
	open, daily, monthly := s.listing(p, k, s.now())
	file := func(f fileRef) File {
		to := f.to + 1
		return File{Name: f.name, Period: f.period, Open: f.open, Monthly: f.monthly, From: dayTime(f.from), To: dayTime(to), Size: len(s.build(p, f).data)}
	}
	l.Open = []File{file(open)}
	for _, f := range daily {
		l.Daily = append(l.Daily, file(f))
	}
	for _, f := range monthly {
		l.Monthly = append(l.Monthly, file(f))
	}
	return l
}

// fileJSON is one file of a listFiles answer. createdAt and storage are
// there for tolerant parsing.
type fileJSON struct {
	FileName  string      `json:"fileName"`
	Date      string      `json:"date,omitempty"`
	Month     string      `json:"month,omitempty"`
	Size      int         `json:"size"`
	CreatedAt string      `json:"createdAt"`
	Storage   storageJSON `json:"storage"`
}

// storageJSON is the storage member of a listed file.
type storageJSON struct {
	Bucket string `json:"bucket"`
	Region string `json:"region"`
}

// handleListFiles answers GET /v3/{customEventTracking|exceptionTracking}/listFiles/{product}.
func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request, p *product, kind string) {
	k := kindIndex(kind)
	now := s.now()
	open, daily, monthly := s.listing(p, k, now)
	entry := func(f fileRef) any {
		if s.cfg.BareFileNames {
			return f.name
		}
		created := dayTime(f.to + 1)
		if f.open {
			created = dayTime(f.from)
		}
		fj := fileJSON{FileName: f.name, Size: len(s.build(p, f).data), CreatedAt: created.Format(time.RFC3339), Storage: storageJSON{Bucket: "rui-exports-us-east-1", Region: "us-east-1"}}
		if f.monthly {
			fj.Month = f.period
		} else {
			fj.Date = f.period
		}
		return fj
	}
	list := func(fs []fileRef) []any {
		out := make([]any, 0, len(fs))
		for _, f := range fs {
			out = append(out, entry(f))
		}
		return out
	}
	writeJSON(w, http.StatusOK, struct {
		Open    []any `json:"openDailyFiles"`
		Daily   []any `json:"dailyFiles"`
		Monthly []any `json:"monthlyFiles"`
	}{list([]fileRef{open}), list(daily), list(monthly)})
}

// DownloadURLResponse is the answer of getDownloadUrl.
type DownloadURLResponse struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

// handleGetDownloadURL answers POST /v3/{customEventTracking|exceptionTracking}/getDownloadUrl/{product}.
func (s *Server) handleGetDownloadURL(w http.ResponseWriter, r *http.Request, p *product, kind string) {
	k := kindIndex(kind)
	var req struct {
		FileName string `json:"fileName"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	if req.FileName == "" {
		s.fail(w, http.StatusBadRequest, "fileName is required")
		return
	}
	f, ok := s.lookup(p, k, req.FileName, s.now())
	if !ok {
		s.fail(w, http.StatusNotFound, "File not found")
		return
	}
	now := s.cfg.Clock().UTC()
	u := &downloadURL{product: p, kind: k, name: f.name, sig: newToken(), expires: now.Add(s.cfg.URLTTL)}
	token := newToken()
	s.files.mu.Lock()
	for t, old := range s.files.urls {
		if now.Sub(old.expires) > urlMemory {
			delete(s.files.urls, t)
		}
	}
	s.files.urls[token] = u
	s.files.mu.Unlock()
	s.stats.urlsIssued.Add(1)

	base := strings.TrimSuffix(s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	link := fmt.Sprintf("%s%s%s/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host&X-Amz-Signature=%s",
		base, DownloadPath, token, f.name, now.Format("20060102T150405Z"), int(math.Ceil(s.cfg.URLTTL.Seconds())), u.sig)
	writeJSON(w, http.StatusOK, DownloadURLResponse{URL: link, ExpiresAt: u.expires.Truncate(time.Second).Format(time.RFC3339)})
}

// s3Error answers a download as S3 does: status and an XML Error.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>", code, msg, strings.ToUpper(newToken()[:16]))
}

// handleDownload answers GET /download/{token}/{file}: the pre-signed
// storage URL. It needs no cookie and no Origin.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	token, name := r.PathValue("token"), r.PathValue("file")
	now := s.cfg.Clock()
	s.files.mu.Lock()
	u := s.files.urls[token]
	s.files.mu.Unlock()
	switch {
	case u == nil:
		s.stats.urlsRefused.Add(1)
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	case u.name != name || !simkit.Equal(r.URL.Query().Get("X-Amz-Signature"), u.sig):
		s.stats.urlsRefused.Add(1)
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	case !now.Before(u.expires):
		s.stats.urlsExpired.Add(1)
		s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	f, ok := s.lookup(u.product, u.kind, u.name, s.now())
	if !ok {
		s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	b := s.build(u.product, f)
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Length", strconv.Itoa(len(b.data)))
	h.Set("ETag", b.etag)
	h.Set("Content-Disposition", `attachment; filename="`+f.name+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s.stats.downloads.Add(1)
	s.writeThrottled(r.Context(), w, b.data)
}

// writeThrottled writes data at Config.DownloadBytesPerSecond, a tenth of
// a second's worth at a time, and returns when the last byte is due or
// ctx ends.
func (s *Server) writeThrottled(ctx context.Context, w http.ResponseWriter, data []byte) {
	bps := s.cfg.DownloadBytesPerSecond
	if bps <= 0 {
		_, _ = w.Write(data)
		return
	}
	chunk := int(max(1, bps/10))
	rc := http.NewResponseController(w)
	start := time.Now()
	for sent := 0; sent < len(data); {
		n := min(chunk, len(data)-sent)
		if _, err := w.Write(data[sent : sent+n]); err != nil {
			return
		}
		_ = rc.Flush()
		sent += n
		due := start.Add(time.Duration(float64(sent) / float64(bps) * float64(time.Second)))
		if !simkit.Sleep(ctx, time.Until(due)) {
			return
		}
	}
}
