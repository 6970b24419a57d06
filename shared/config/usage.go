package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
	"time"
)

// Usage writes a table of every environment variable of spec, a pointer to
// a service configuration struct, in struct order: name, type, default,
// whether it is required, and description. Each secret is followed by its
// <NAME>_FILE alternative.
func Usage(w io.Writer, program string, spec any) error {
	if v := reflect.ValueOf(spec); v.Kind() == reflect.Struct {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		spec = p.Interface()
	}
	vars, err := variables(spec)
	if err != nil {
		return fmt.Errorf("usage of %s: %w", program, err)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Environment variables of %s:\n\n", program)
	fmt.Fprintln(tw, "VARIABLE\tTYPE\tDEFAULT\tREQUIRED\tDESCRIPTION")
	for _, v := range vars {
		required := "no"
		if v.required() {
			required = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.key, typeName(v.field.Type()), v.tag.Get("default"), required, v.tag.Get("desc"))
		if v.secret() {
			fmt.Fprintf(tw, "%s\t%s\t\t%s\t%s\n", v.key+FileSuffix, "path", "no",
				"File holding "+v.key+" instead (trailing whitespace trimmed); do not set both.")
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("usage of %s: %w", program, err)
	}
	return nil
}

// Variable describes one environment variable of a configuration.
type Variable struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required"`
	Secret      bool   `json:"secret"`
	Description string `json:"description"`
	// FileOf names the secret this <NAME>_FILE variable holds a path to.
	FileOf string `json:"file_of,omitempty"`
}

// Variables lists every environment variable of spec in struct order, each
// secret followed by its <NAME>_FILE alternative. Deployment checks use it
// to find settings a service does not declare.
func Variables(spec any) ([]Variable, error) {
	if v := reflect.ValueOf(spec); v.Kind() == reflect.Struct {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		spec = p.Interface()
	}
	vars, err := variables(spec)
	if err != nil {
		return nil, err
	}
	out := make([]Variable, 0, len(vars))
	for _, v := range vars {
		out = append(out, Variable{
			Name: v.key, Type: typeName(v.field.Type()), Default: v.tag.Get("default"),
			Required: v.required(), Secret: v.secret(), Description: v.tag.Get("desc"),
		})
		if v.secret() {
			out = append(out, Variable{Name: v.key + FileSuffix, Type: "path", FileOf: v.key,
				Description: "File holding " + v.key + " instead (trailing whitespace trimmed); do not set both."})
		}
	}
	return out, nil
}

var timeType = reflect.TypeFor[time.Time]()

// typeName names the type of a variable for Usage.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "duration"
	case t == timeType:
		return "time"
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes"
		}
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Key()) + ":" + typeName(t.Elem())
	case reflect.Struct:
		return t.Name()
	}
	return t.Kind().String()
}

// Version is what -version prints. Set it with
// -ldflags "-X github.com/auditstream/auditstream/shared/config.Version=v1.2.3"
// or from the program before ParseFlags. Default "dev".
var Version = "dev"

// CommandLine is the outcome of ParseFlags.
type CommandLine struct {
	// Exit says the program should stop now with exit code Code (after
	// -help, -version or a usage error).
	Exit bool
	// Code is the exit code when Exit is set.
	Code int
	// Healthcheck asks the program to check a running instance's /readyz
	// and exit (for container health checks).
	Healthcheck bool
}

// ErrUsage is returned by ParseFlags for an unknown flag or an argument.
var ErrUsage = errors.New("invalid command line")

// ParseFlags handles a poller's command line, args without the program
// name. The flags are -help (or -h), which prints description and Usage
// of spec to stdout; -version, which prints program and Version; and
// -healthcheck. An unknown flag or any argument prints the problem and the
// usage to stderr and returns an error wrapping ErrUsage, with Exit set and
// Code 2.
func ParseFlags(program, description string, args []string, spec any, stdout, stderr io.Writer) (CommandLine, error) {
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	version := fs.Bool("version", false, "print the version and exit")
	var cl CommandLine
	fs.BoolVar(&cl.Healthcheck, "healthcheck", false, "check that the running poller is ready (GET /readyz on HTTP_ADDR) and exit")
	env := fs.Bool("env", false, "print every environment variable as JSON (name, type, default, required, secret, description) and exit")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q: %s takes its configuration from the environment", fs.Arg(0), program)
		fmt.Fprintln(stderr, err)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		if uerr := help(stdout, fs, program, description, spec); uerr != nil {
			return CommandLine{Exit: true, Code: 1}, uerr
		}
		return CommandLine{Exit: true}, nil
	case err != nil:
		// The problem is already on stderr.
		if uerr := help(stderr, fs, program, description, spec); uerr != nil {
			return CommandLine{Exit: true, Code: 1}, uerr
		}
		return CommandLine{Exit: true, Code: 2}, fmt.Errorf("%w: %w", ErrUsage, err)
	case *version:
		fmt.Fprintf(stdout, "%s %s\n", program, Version)
		return CommandLine{Exit: true}, nil
	case *env:
		vars, err := Variables(spec)
		if err == nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			err = enc.Encode(vars)
		}
		if err != nil {
			return CommandLine{Exit: true, Code: 1}, fmt.Errorf("variables of %s: %w", program, err)
		}
		return CommandLine{Exit: true}, nil
	}
	return cl, nil
}

// help writes the description, the flags and Usage of spec to w.
func help(w io.Writer, fs *flag.FlagSet, program, description string, spec any) error {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]\n\nFlags:\n", program, description, program)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nAll settings come from the environment and are checked together at start.\n")
	fmt.Fprintf(w, "A secret may instead be read from the file named by <NAME>%s.\n\n", FileSuffix)
	return Usage(w, program, spec)
}
