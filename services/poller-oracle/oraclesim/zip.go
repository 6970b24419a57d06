package oraclesim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"time"
)

// bom is the UTF-8 byte-order mark the report starts with.
const bom = "\xef\xbb\xbf"

// mixedService is the value of the extra Service column of HeaderMixed.
const mixedService = "Planning"

// Header returns the header row of style (one of HeaderStyles), or nil.
func Header(style string) []string {
	switch style {
	case HeaderClassic:
		return []string{"User Login", "User Name", "IP Address", "Access Date and Time"}
	case HeaderAlt:
		return []string{"User ID", "IP Address", "Access Time"}
	case HeaderMixed:
		return []string{"ACCESS DATE AND TIME", "ip address", "User Login", "User Name", "Service"}
	}
	return nil
}

// fields returns the fields of row r in style.
func fields(style string, r Row) []string {
	at := r.Time.UTC().Format(AccessTimeLayout)
	switch style {
	case HeaderAlt:
		return []string{r.Login, r.IP, at}
	case HeaderMixed:
		return []string{at, r.IP, r.Login, r.Name, mixedService}
	}
	return []string{r.Login, r.Name, r.IP, at}
}

// ReportCSV returns the report file's CSV: the byte-order mark, the
// quoted application id on its own line, the header row of style and one
// line per row in the given order, every line ending in CRLF, fields
// quoted by encoding/csv where needed.
func ReportCSV(appID, style string, rows []Row) []byte {
	var buf bytes.Buffer
	buf.Grow(64 + len(rows)*96)
	buf.WriteString(bom)
	buf.WriteString(`"` + appID + "\"\r\n")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write(Header(style)) // writes to a bytes.Buffer never fail
	for _, r := range rows {
		_ = w.Write(fields(style, r))
	}
	w.Flush()
	return buf.Bytes()
}

// zipFile returns a ZIP archive holding one Deflate entry name with
// content, modified at mod.
func zipFile(name string, mod time.Time, content []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod.UTC()})
	if err != nil {
		return nil, fmt.Errorf("create zip entry %q: %w", name, err)
	}
	if _, err := f.Write(content); err != nil {
		return nil, fmt.Errorf("write zip entry %q: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("close zip: %w", err)
	}
	return buf.Bytes(), nil
}
