package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestUsageGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Usage(&buf, "poller-plm", &sampleSpec{}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("Usage output differs from %s (run go test -update if the change is intended):\n%s", golden, got)
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	var buf bytes.Buffer
	if err := Usage(&buf, "poller-plm", sampleSpec{}); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			lines[name] = line
		}
	}
	vars, err := variables(&sampleSpec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		line, ok := lines[v.key]
		if !ok {
			t.Errorf("Usage does not list %s", v.key)
			continue
		}
		desc := v.tag.Get("desc")
		if desc == "" {
			t.Errorf("%s has no desc tag", v.key)
		}
		if !strings.HasSuffix(line, desc) {
			t.Errorf("line of %s lacks its description: %q", v.key, line)
		}
		if def := v.tag.Get("default"); def != "" && !strings.Contains(line, " "+def+" ") {
			t.Errorf("line of %s lacks its default %q: %q", v.key, def, line)
		}
		_, hasFile := lines[v.key+FileSuffix]
		if hasFile != v.secret() {
			t.Errorf("%s: _FILE alternative listed = %v, want %v", v.key, hasFile, v.secret())
		}
	}
	for _, name := range []string{"KAFKA_SASL_PASSWORD_FILE", "SCHEMA_REGISTRY_PASSWORD_FILE", "PLM_CLIENT_SECRET_FILE"} {
		if _, ok := lines[name]; !ok {
			t.Errorf("Usage does not list %s", name)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       CommandLine
		wantErr    bool
		wantStdout string
		wantStderr string
	}{
		{name: "no flags runs", args: nil},
		{name: "healthcheck", args: []string{"-healthcheck"}, want: CommandLine{Healthcheck: true}},
		{name: "help", args: []string{"-help"}, want: CommandLine{Exit: true}, wantStdout: "PLM_CLIENT_SECRET_FILE"},
		{name: "h", args: []string{"-h"}, want: CommandLine{Exit: true}, wantStdout: "poller-plm: polls PLM audit logs into Kafka.\n\nUsage: poller-plm [flags]"},
		{name: "version", args: []string{"-version"}, want: CommandLine{Exit: true}, wantStdout: "poller-plm v1.2.3\n"},
		{name: "unknown flag", args: []string{"-bogus"}, want: CommandLine{Exit: true, Code: 2}, wantErr: true,
			wantStderr: "flag provided but not defined: -bogus"},
		{name: "argument", args: []string{"run"}, want: CommandLine{Exit: true, Code: 2}, wantErr: true,
			wantStderr: `unexpected argument "run"`},
	}
	defer func(v string) { Version = v }(Version)
	Version = "v1.2.3"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got, err := ParseFlags("poller-plm", "polls PLM audit logs into Kafka.", tt.args, &sampleSpec{}, &stdout, &stderr)
			if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrUsage)) {
				t.Errorf("ParseFlags = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || (tt.wantStdout == "" && stdout.Len() > 0) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) || (tt.wantStderr == "" && stderr.Len() > 0) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantErr && !strings.Contains(stderr.String(), "KAFKA_BROKERS") {
				t.Errorf("usage error does not print the variables: %q", stderr.String())
			}
		})
	}
}

func TestEnvFlagPrintsEveryVariableAsJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	var spec sampleSpec
	cl, err := ParseFlags("poller-x", "", []string{"-env"}, &spec, &out, &errOut)
	if err != nil || !cl.Exit || cl.Code != 0 {
		t.Fatalf("ParseFlags(-env) = %+v, %v", cl, err)
	}
	var vars []Variable
	if err := json.Unmarshal(out.Bytes(), &vars); err != nil {
		t.Fatalf("-env output is not JSON: %v\n%s", err, out.String())
	}
	want, err := Variables(&spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != len(want) || len(vars) == 0 {
		t.Fatalf("-env listed %d variables, want %d", len(vars), len(want))
	}
	byName := map[string]Variable{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	if v, ok := byName["KAFKA_SASL_PASSWORD_FILE"]; !ok || v.FileOf != "KAFKA_SASL_PASSWORD" {
		t.Errorf("KAFKA_SASL_PASSWORD_FILE = %+v", v)
	}
	if v := byName["KAFKA_BROKERS"]; v.Default != "127.0.0.1:9092" || v.Description == "" {
		t.Errorf("KAFKA_BROKERS = %+v", v)
	}
}
