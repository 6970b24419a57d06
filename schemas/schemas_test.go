package schemas_test

// These tests guard the event contract. Every released version of a schema
// <name>.avsc is kept as history/<name>/NNNN.avsc, numbered from 0001 without
// gaps; the newest must equal the current file byte for byte. The current
// schema must be FULL compatible with every released version (FULL_TRANSITIVE:
// new readers read old data and old readers read new data), and every schema
// follows the rules of DESIGN.md's "Event contract".
//
// To change a schema: edit <name>.avsc, run `go test` here until only the
// "copy it to schemas/history/..." failure remains, then copy the file as the
// next history version.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditstream/auditstream/schemas"
	"github.com/twmb/avro"
)

// namespace is the namespace of every named type in the contract.
const namespace = "io.auditstream"

// version is one released version of a schema.
type version struct {
	number int
	file   string // path relative to the module root, e.g. history/audit_event/0001.avsc
	text   string
}

// historyFile matches a history file name.
var historyFile = regexp.MustCompile(`^(\d{4})\.avsc$`)

// loadHistory reads history/<name>/, checks its file names and returns the
// versions in order.
func loadHistory(name string) ([]version, error) {
	dir := filepath.Join("history", name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vs []version
	for _, e := range entries {
		m := historyFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			return nil, fmt.Errorf("schemas/%s/%s: history holds only NNNN.avsc files", dir, e.Name())
		}
		n, _ := strconv.Atoi(m[1])
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		vs = append(vs, version{number: n, file: filepath.ToSlash(filepath.Join(dir, e.Name())), text: string(b)})
	}
	slices.SortFunc(vs, func(a, b version) int { return a.number - b.number })
	for i, v := range vs {
		if v.number != i+1 {
			return nil, fmt.Errorf("schemas/%s: versions must be numbered 0001, 0002, ... without gaps; found %s where %04d.avsc belongs", dir, filepath.Base(v.file), i+1)
		}
	}
	return vs, nil
}

// checkRecorded reports a current schema that is not the newest history
// version, so that every change is recorded and checked forever after.
func checkRecorded(name, current string, history []version) []string {
	if len(history) > 0 && history[len(history)-1].text == current {
		return nil
	}
	return []string{fmt.Sprintf("schemas/%s.avsc changed: copy it to schemas/history/%s/%04d.avsc (the next number) once it is compatible",
		name, name, len(history)+1)}
}

// checkFullTransitive checks the current schema against every history
// version in both directions and returns one problem per failed direction,
// naming the field.
func checkFullTransitive(name, current string, history []version) []string {
	cur, err := avro.Parse(current)
	if err != nil {
		return []string{fmt.Sprintf("schemas/%s.avsc does not parse: %v", name, err)}
	}
	var problems []string
	for _, v := range history {
		old, err := avro.Parse(v.text)
		if err != nil {
			problems = append(problems, fmt.Sprintf("schemas/%s does not parse: %v", v.file, err))
			continue
		}
		if err := avro.CheckCompatibility(old, cur); err != nil {
			problems = append(problems, fmt.Sprintf("schemas/%s.avsc breaks FULL_TRANSITIVE compatibility with schemas/%s: the new schema cannot read data written with the old one: %s",
				name, v.file, describe(err)))
		}
		if err := avro.CheckCompatibility(cur, old); err != nil {
			problems = append(problems, fmt.Sprintf("schemas/%s.avsc breaks FULL_TRANSITIVE compatibility with schemas/%s: readers of the old schema cannot read data written with the new one: %s",
				name, v.file, describe(err)))
		}
	}
	return problems
}

// describe renders a compatibility error naming the field and how to fix it.
func describe(err error) string {
	var ce *avro.CompatibilityError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	s := fmt.Sprintf("field %s: %s", ce.Path, ce.Detail)
	if ce.ReaderType != "" && ce.WriterType != "" {
		s += fmt.Sprintf(" (reader %s, writer %s)", ce.ReaderType, ce.WriterType)
	}
	return s + `; add fields as ["null", T] with "default": null, never remove or retype a field`
}

// versionedName matches a record name that carries a version.
var versionedName = regexp.MustCompile(`(V\d+|[_.]v\d+)$`)

// checkDesign checks the contract rules of DESIGN.md on a parsed schema.
func checkDesign(name string, s *avro.Schema) []string {
	var problems []string
	add := func(path, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("schemas/%s.avsc: %s: %s", name, path, fmt.Sprintf(format, args...)))
	}
	root := s.Root()
	if root.Type != "record" {
		add("(root)", "the top-level type is %s, want a record", root.Type)
	}
	var walk func(path string, n *avro.SchemaNode, field *avro.SchemaField)
	walk = func(path string, n *avro.SchemaNode, field *avro.SchemaField) {
		switch n.Type {
		case "record", "error", "enum", "fixed":
			if n.Namespace != namespace {
				add(path, "named type %s has namespace %q, want %q", n.Name, n.Namespace, namespace)
			}
			if versionedName.MatchString(n.Name) {
				add(path, "type name %s carries a version; names never change, compatibility rules evolve them", n.Name)
			}
		}
		switch n.Type {
		case "record", "error":
			for i := range n.Fields {
				f := &n.Fields[i]
				walk(joinPath(path, f.Name), &f.Type, f)
			}
		case "enum":
			if !n.HasEnumDefault {
				add(path, "enum %s has no default symbol; readers that meet a newer symbol need one", n.Name)
			}
		case "array":
			walk(path+"[]", n.Items, nil)
		case "map":
			walk(path+"{}", n.Values, nil)
		case "union":
			hasNull := false
			for i := range n.Branches {
				if n.Branches[i].Type == "null" {
					hasNull = true
					if i != 0 {
						add(path, `null is union branch %d; an optional field is ["null", T] with null first`, i)
					}
				}
			}
			if hasNull && field != nil && (!field.HasDefault || field.Default != nil) {
				add(path, `optional field has no "default": null`)
			}
			for i := range n.Branches {
				walk(path, &n.Branches[i], nil)
			}
		}
		if strings.HasPrefix(n.LogicalType, "timestamp") || strings.HasPrefix(n.LogicalType, "local-timestamp") || n.LogicalType == "date" {
			if n.Type != "long" || n.LogicalType != "timestamp-millis" {
				add(path, `timestamp is %s/%s, want {"type":"long","logicalType":"timestamp-millis"}`, n.Type, n.LogicalType)
			}
		}
		if field != nil && isTimeField(field.Name) && !isTimestamp(n) {
			add(path, `a time field must be {"type":"long","logicalType":"timestamp-millis"} (or ["null", that]); keep the vendor's text in raw_time`)
		}
	}
	walk("", root, nil)
	return problems
}

// isTimeField reports whether a field name says it holds a point in time.
// raw_* fields keep the vendor's own text and are exempt.
func isTimeField(name string) bool {
	if strings.HasPrefix(name, "raw_") {
		return false
	}
	for _, suffix := range []string{"_time", "_at", "_start", "_end", "_date"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// isTimestamp reports whether n is a timestamp-millis long, alone or as the
// non-null branch of an optional.
func isTimestamp(n *avro.SchemaNode) bool {
	if n.Type == "union" {
		for i := range n.Branches {
			b := &n.Branches[i]
			if b.Type != "null" && !isTimestamp(b) {
				return false
			}
		}
		return len(n.Branches) > 0
	}
	return n.Type == "long" && n.LogicalType == "timestamp-millis"
}

func joinPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// avscFiles returns the stems of the *.avsc files of the module.
func avscFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.avsc")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f, ".avsc"))
	}
	return names
}

func TestSchemasParse(t *testing.T) {
	all := schemas.All()
	files := avscFiles(t)
	if len(files) == 0 {
		t.Fatal("no schemas/*.avsc found")
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(name + ".avsc")
			if err != nil {
				t.Fatal(err)
			}
			embedded, ok := all[name]
			if !ok {
				t.Fatalf("schemas/%s.avsc is not in schemas.All(): embed it in schemas.go", name)
			}
			if embedded != string(b) {
				t.Fatalf("schemas.All()[%q] is not the content of schemas/%s.avsc", name, name)
			}
			if _, err := avro.Parse(string(b)); err != nil {
				t.Fatalf("schemas/%s.avsc does not parse: %v", name, err)
			}
		})
	}
	for name := range all {
		if !slices.Contains(files, name) {
			t.Errorf("schemas.All() has %q but there is no schemas/%s.avsc", name, name)
		}
	}
}

// TestSchemasFullTransitive checks every schema against every released
// version of it, both ways.
func TestSchemasFullTransitive(t *testing.T) {
	for _, name := range avscFiles(t) {
		t.Run(name, func(t *testing.T) {
			current, err := os.ReadFile(name + ".avsc")
			if err != nil {
				t.Fatal(err)
			}
			history, err := loadHistory(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkFullTransitive(name, string(current), history) {
				t.Error(p)
			}
		})
	}
}

// TestSchemasRecorded checks that the newest released version of every
// schema is its current file, so the next change is checked against it.
func TestSchemasRecorded(t *testing.T) {
	for _, name := range avscFiles(t) {
		t.Run(name, func(t *testing.T) {
			current, err := os.ReadFile(name + ".avsc")
			if err != nil {
				t.Fatal(err)
			}
			history, err := loadHistory(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkRecorded(name, string(current), history) {
				t.Error(p)
			}
		})
	}
}

// TestSchemasNotDeleted checks that every schema with a history still
// exists: a released schema's readers are still out there.
func TestSchemasNotDeleted(t *testing.T) {
	entries, err := os.ReadDir("history")
	if err != nil {
		t.Fatal(err)
	}
	files := avscFiles(t)
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("schemas/history/%s: history holds one directory per schema", e.Name())
			continue
		}
		if !slices.Contains(files, e.Name()) {
			t.Errorf("schemas/history/%s has no schemas/%s.avsc: a released schema cannot be deleted", e.Name(), e.Name())
		}
	}
}

func TestSchemasDesignRules(t *testing.T) {
	for _, name := range avscFiles(t) {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(name + ".avsc")
			if err != nil {
				t.Fatal(err)
			}
			s, err := avro.Parse(string(b))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkDesign(name, s) {
				t.Error(p)
			}
		})
	}
}

// TestCheckerCatchesBreakingChanges proves the checks fail on the changes
// they exist to stop, using in-memory edits of the first released audit
// schema (a history file never changes, so neither do these edits).
func TestCheckerCatchesBreakingChanges(t *testing.T) {
	b, err := os.ReadFile("history/audit_event/0001.avsc")
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	released := []version{{number: 1, file: "history/audit_event/0001.avsc", text: base}}
	edit := func(old, new string) string {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("history/audit_event/0001.avsc does not contain %q", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	tests := []struct {
		name   string
		schema string
		want   []string // in the problems; none = compatible
	}{
		{
			name:   "remove a field without default",
			schema: edit(`{"name": "tenant_id", "type": "string", "doc": "The vendor tenant, account or set the record belongs to."},`, ""),
			want:   []string{"field tenant_id", "readers of the old schema cannot read data written with the new one"},
		},
		{
			name:   "change a field's type",
			schema: edit(`{"name": "class_uid", "type": "int"`, `{"name": "class_uid", "type": "string"`),
			want:   []string{"field class_uid", "the new schema cannot read data written with the old one"},
		},
		{
			name:   "add a field without default",
			schema: edit(`"fields": [`, `"fields": [{"name": "severity", "type": "int"},`),
			want:   []string{"field severity", "the new schema cannot read data written with the old one"},
		},
		{
			name:   "make an optional nested field required",
			schema: edit(`{"name": "email", "type": ["null", "string"], "default": null}`, `{"name": "email", "type": "string"}`),
			want:   []string{"field actor.email"},
		},
		{
			name:   "rename a record",
			schema: edit(`"name": "AuditEvent"`, `"name": "AuditEventV2"`),
			want:   []string{"record names do not match"},
		},
		{
			name:   "add an optional field",
			schema: edit(`"fields": [`, `"fields": [{"name": "severity", "type": ["null", "int"], "default": null},`),
		},
		{
			name:   "add an enum symbol (the enum has a default)",
			schema: edit(`"CONFIG_CHANGE"]`, `"CONFIG_CHANGE", "NETWORK_ACTIVITY"]`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkFullTransitive("audit_event", tt.schema, released)
			if len(tt.want) == 0 {
				if len(problems) > 0 {
					t.Fatalf("a compatible change was rejected: %q", problems)
				}
				return
			}
			if len(problems) == 0 {
				t.Fatalf("the breaking change passed the check")
			}
			joined := strings.Join(problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("problems %q do not mention %q", joined, w)
				}
			}
		})
	}

	t.Run("breaking change against an older version only", func(t *testing.T) {
		// v1 has x: int; v2 dropped it (compatible); the current re-adds
		// x as a string: compatible with v2, not with v1.
		base := `{"type":"record","name":"R","namespace":"io.auditstream","fields":[%s]}`
		history := []version{
			{1, "history/r/0001.avsc", fmt.Sprintf(base, `{"name":"a","type":"string"},{"name":"x","type":["null","int"],"default":null}`)},
			{2, "history/r/0002.avsc", fmt.Sprintf(base, `{"name":"a","type":"string"}`)},
		}
		current := fmt.Sprintf(base, `{"name":"a","type":"string"},{"name":"x","type":["null","string"],"default":null}`)
		if p := checkFullTransitive("r", current, history[1:]); len(p) != 0 {
			t.Fatalf("against the latest version alone: %q", p)
		}
		p := checkFullTransitive("r", current, history)
		if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "history/r/0001.avsc") || !strings.Contains(strings.Join(p, "\n"), "field x") {
			t.Fatalf("problems %q, want a failure against 0001 naming field x", p)
		}
	})
}

func TestCheckRecorded(t *testing.T) {
	history := []version{{1, "history/r/0001.avsc", "v1"}, {2, "history/r/0002.avsc", "v2"}}
	tests := []struct {
		name    string
		current string
		history []version
		want    string // "" = recorded
	}{
		{"newest equals current", "v2", history, ""},
		{"current equals an older version only", "v1", history, "schemas/r.avsc changed: copy it to schemas/history/r/0003.avsc (the next number) once it is compatible"},
		{"whitespace counts", "v2\n", history, "schemas/history/r/0003.avsc"},
		{"no history yet", "v1", nil, "copy it to schemas/history/r/0001.avsc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkRecorded("r", tt.current, tt.history)
			if tt.want == "" {
				if len(p) != 0 {
					t.Fatalf("problems %q, want none", p)
				}
				return
			}
			if len(p) != 1 || !strings.Contains(p[0], tt.want) {
				t.Fatalf("problems %q, want one containing %q", p, tt.want)
			}
		})
	}
}

func TestCheckDesignCatchesViolations(t *testing.T) {
	record := func(ns string, fields ...string) string {
		return `{"type":"record","name":"E","namespace":"` + ns + `","fields":[` + strings.Join(fields, ",") + `]}`
	}
	tests := []struct {
		name   string
		schema string
		want   string // "" = no problem
	}{
		{"conforming", record(namespace,
			`{"name":"event_time","type":{"type":"long","logicalType":"timestamp-millis"}}`,
			`{"name":"raw_time","type":["null","string"],"default":null}`,
			`{"name":"period_end","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null}`,
			`{"name":"o","type":{"type":"enum","name":"O","symbols":["UNKNOWN","A"],"default":"UNKNOWN"}}`), ""},
		{"wrong namespace", record("com.example", `{"name":"a","type":"string"}`), `namespace "com.example"`},
		{"nested type in another namespace", record(namespace, `{"name":"r","type":{"type":"record","name":"In","namespace":"other","fields":[]}}`), `In has namespace "other"`},
		{"version in the name", strings.Replace(record(namespace, `{"name":"a","type":"string"}`), `"name":"E"`, `"name":"EventV2"`, 1), "carries a version"},
		{"null last", record(namespace, `{"name":"a","type":["string","null"],"default":"x"}`), "null is union branch 1"},
		{"optional without default", record(namespace, `{"name":"a","type":["null","string"]}`), `no "default": null`},
		{"enum without default", record(namespace, `{"name":"o","type":{"type":"enum","name":"O","symbols":["A"]}}`), "no default symbol"},
		{"micros timestamp", record(namespace, `{"name":"event_time","type":{"type":"long","logicalType":"timestamp-micros"}}`), "timestamp-micros"},
		{"time as a string", record(namespace, `{"name":"observed_time","type":"string"}`), "a time field must be"},
		{"optional time as a plain long", record(namespace, `{"name":"period_start","type":["null","long"],"default":null}`), "a time field must be"},
		{"union in an array", record(namespace, `{"name":"xs","type":{"type":"array","items":["string","null"]}}`), "xs[]: null is union branch 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := avro.Parse(tt.schema)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			p := checkDesign("e", s)
			if tt.want == "" {
				if len(p) != 0 {
					t.Fatalf("problems %q, want none", p)
				}
				return
			}
			if !strings.Contains(strings.Join(p, "\n"), tt.want) {
				t.Fatalf("problems %q, want one containing %q", p, tt.want)
			}
		})
	}
}
