package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kelseyhightower/envconfig"
)

// Spec is a service configuration: a pointer to a struct that embeds
// Common. Its Validate calls Common.Validate and appends the service's own
// problems, each starting with the variable name.
type Spec interface {
	Validate() []string
}

// Error lists every problem found while loading a configuration.
type Error struct {
	Problems []string
}

// Error returns the problems, one per line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// FileSuffix is appended to a secret variable's name to give the variable
// naming a file that holds the secret instead.
const FileSuffix = "_FILE"

// Load fills spec from the environment with envconfig's rules (prefix "",
// tags envconfig, default, required, split_words, ignored), reads each
// secret (a field tagged secret:"true", which must be a string) from
// <NAME>_FILE when that is set, and then calls spec.Validate.
//
// It returns nil or an *Error listing every problem: variables that do not
// parse, required variables that are missing or empty, secret files that
// cannot be read, a secret set both directly and as a file, and the
// problems of Validate. Validate problems about a variable that already
// failed to load are dropped, so each variable is reported once. Secret
// values never appear in the problems.
func Load(spec Spec) error {
	vars, err := variables(spec)
	if err != nil {
		return fmt.Errorf("load configuration: %w", err)
	}
	var problems []string
	failed := make(map[string]bool)
	for _, v := range vars {
		if p := v.load(); p != "" {
			problems = append(problems, p)
			failed[v.key] = true
		}
	}
	for _, p := range spec.Validate() {
		name, _, _ := strings.Cut(p, ":")
		if failed[name] {
			continue
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// variable is one environment variable of a spec.
type variable struct {
	key   string
	field reflect.Value
	tag   reflect.StructTag
}

func (v variable) secret() bool   { return isTrue(v.tag.Get("secret")) }
func (v variable) required() bool { return isTrue(v.tag.Get("required")) }

// load sets v's field from the environment and returns the problem, if any.
func (v variable) load() string {
	value, set := os.LookupEnv(v.key)
	fromFile := false
	if v.secret() {
		if v.field.Kind() != reflect.String {
			return fmt.Sprintf("%s: secret:\"true\" is only supported on string fields, not %s; fix the service's configuration struct", v.key, v.field.Type())
		}
		fileKey := v.key + FileSuffix
		if path := os.Getenv(fileKey); path != "" {
			if set && value != "" {
				return fmt.Sprintf("%s: both %s and %s are set; set only one of them", v.key, v.key, fileKey)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Sprintf("%s: cannot read the secret file: %v; mount the file or fix the path", fileKey, err)
			}
			value, set, fromFile = strings.TrimRightFunc(string(b), unicode.IsSpace), true, true
			secretFiles.Store(v.key, path)
		} else {
			secretFiles.Delete(v.key)
		}
	}
	def := v.tag.Get("default")
	if !set && def != "" {
		value, set = def, true
	}
	if v.required() && (!set || strings.TrimSpace(value) == "") {
		how := "set " + v.key
		if v.secret() {
			how += " or " + v.key + FileSuffix
		}
		if fromFile {
			return fmt.Sprintf("%s: required but the file named by %s is empty; put the secret in that file", v.key, v.key+FileSuffix)
		}
		if desc := v.tag.Get("desc"); desc != "" {
			how += " (" + strings.TrimSuffix(desc, ".") + ")"
		}
		return fmt.Sprintf("%s: required but not set; %s", v.key, how)
	}
	if !set {
		return ""
	}
	if v.secret() {
		v.field.SetString(value)
		return ""
	}
	return v.parse()
}

// parse lets envconfig parse the variable into a one-field struct of the
// field's type, so that one bad variable does not hide the others, and
// copies the result into the field.
func (v variable) parse() string {
	tag := `envconfig:` + strconv.Quote(v.key)
	if def := v.tag.Get("default"); def != "" {
		tag += ` default:` + strconv.Quote(def)
	}
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "V",
		Type: v.field.Type(),
		Tag:  reflect.StructTag(tag),
	}}))
	err := envconfig.Process("", holder.Interface())
	var pe *envconfig.ParseError
	switch {
	case errors.As(err, &pe):
		value, _ := os.LookupEnv(v.key)
		return fmt.Sprintf("%s: invalid value %q; %s", v.key, value, parseHint(v.field.Type(), pe.Err))
	case err != nil:
		return fmt.Sprintf("%s: %v", v.key, err)
	}
	v.field.Set(holder.Elem().Field(0))
	return ""
}

var durationType = reflect.TypeFor[time.Duration]()

// parseHint says what a value of type t looks like.
func parseHint(t reflect.Type, err error) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return "want a duration such as 500ms, 30s, 5m or 1h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "want true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("want an integer that fits in %s", t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("want a non-negative integer that fits in %s", t)
	case reflect.Float32, reflect.Float64:
		return "want a number"
	case reflect.Slice:
		return fmt.Sprintf("want a comma-separated list of %s (%v)", typeName(t.Elem()), err)
	case reflect.Map:
		return fmt.Sprintf("want comma-separated key:value pairs (%v)", err)
	}
	return err.Error()
}

var (
	// gatherRegexp and acronymRegexp are envconfig's, for split_words.
	gatherRegexp  = regexp.MustCompile("([^A-Z]+|[A-Z]+[^A-Z]+|[A-Z]+)")
	acronymRegexp = regexp.MustCompile("([A-Z]+)([A-Z][^A-Z]+)")
)

// variables lists the environment variables of spec, a pointer to a
// struct, in struct order, with the same names and nesting rules as
// envconfig.Process with prefix "". Like envconfig, it allocates nil
// pointers to structs.
func variables(spec any) ([]variable, error) {
	s := reflect.ValueOf(spec)
	if s.Kind() != reflect.Pointer || s.IsNil() || s.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("specification must be a non-nil pointer to a struct, got %T", spec)
	}
	return gather("", s.Elem()), nil
}

func gather(prefix string, s reflect.Value) []variable {
	var vars []variable
	t := s.Type()
	for i := range s.NumField() {
		f, sf := s.Field(i), t.Field(i)
		if !f.CanSet() || isTrue(sf.Tag.Get("ignored")) {
			continue
		}
		for f.Kind() == reflect.Pointer {
			if f.IsNil() {
				if f.Type().Elem().Kind() != reflect.Struct {
					break
				}
				f.Set(reflect.New(f.Type().Elem()))
			}
			f = f.Elem()
		}
		key := sf.Name
		if isTrue(sf.Tag.Get("split_words")) {
			key = splitWords(sf.Name)
		}
		if alt := sf.Tag.Get("envconfig"); alt != "" {
			key = alt
		}
		if prefix != "" {
			key = prefix + "_" + key
		}
		key = strings.ToUpper(key)
		if f.Kind() == reflect.Struct && !decodes(f) {
			inner := prefix
			if !sf.Anonymous {
				inner = key
			}
			vars = append(vars, gather(inner, f)...)
			continue
		}
		vars = append(vars, variable{key: key, field: f, tag: sf.Tag})
	}
	return vars
}

// splitWords turns a camel-case field name into words joined by '_', as
// envconfig does for split_words:"true".
func splitWords(name string) string {
	words := gatherRegexp.FindAllStringSubmatch(name, -1)
	if len(words) == 0 {
		return name
	}
	var parts []string
	for _, w := range words {
		if m := acronymRegexp.FindStringSubmatch(w[0]); len(m) == 3 {
			parts = append(parts, m[1], m[2])
		} else {
			parts = append(parts, w[0])
		}
	}
	return strings.Join(parts, "_")
}

// decodes reports whether envconfig decodes f itself rather than walking
// its fields.
func decodes(f reflect.Value) bool {
	if !f.CanAddr() {
		return false
	}
	switch f.Addr().Interface().(type) {
	case envconfig.Decoder, envconfig.Setter, interface{ UnmarshalText([]byte) error }, interface{ UnmarshalBinary([]byte) error }:
		return true
	}
	return false
}

func isTrue(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}
