package testkit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
)

// This file holds the golden-file scaffolding of the normalizer tests:
// inputs dir/<case>.json, expected outputs dir/<case>.golden.json, and a
// package's own -update flag to rewrite them.

// GoldenInputs returns the input files of dir: its *.json files but the
// *.golden.json ones.
func GoldenInputs(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range all {
		if !strings.HasSuffix(in, ".golden.json") {
			out = append(out, in)
		}
	}
	return out
}

// NormalizedJSON returns the indented JSON of the event norm makes of rec
// at observed, or of {"error": message}; it fails the test if norm returns
// both an event and an error.
func NormalizedJSON(t testing.TB, norm pipeline.Normalizer, rec pipeline.Record, observed time.Time) []byte {
	t.Helper()
	ev, err := norm(rec, observed)
	var v any = ev
	if err != nil {
		if ev != nil {
			t.Errorf("normalize returned both an event and error %v", err)
		}
		v = map[string]string{"error": err.Error()}
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// CheckGolden compares got with the golden file of input in
// (<in without .json>.golden.json), or with update writes got there.
func CheckGolden(t testing.TB, in string, got []byte, update bool) {
	t.Helper()
	golden := strings.TrimSuffix(in, ".json") + ".golden.json"
	if update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("event differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}
