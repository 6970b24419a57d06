package serde

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/avro"
)

// jsonRenderer renders values decoded into any with one schema as JSON:
// record fields in schema order, map keys sorted, unions bare, timestamps
// RFC 3339 UTC, bytes base64.
type jsonRenderer struct {
	root  *avro.SchemaNode
	named map[string]*avro.SchemaNode // named types by full and short name, for references left in root
}

// newJSONRenderer returns a renderer for the schema s.
func newJSONRenderer(s *avro.Schema) *jsonRenderer {
	r := &jsonRenderer{root: s.Root().ExpandReferences(), named: make(map[string]*avro.SchemaNode)}
	r.collect(r.root)
	return r
}

// collect records every named type definition under n.
func (r *jsonRenderer) collect(n *avro.SchemaNode) {
	if n == nil {
		return
	}
	switch n.Type {
	case "record", "error", "enum", "fixed":
		if n.Namespace != "" && !strings.Contains(n.Name, ".") {
			r.named[n.Namespace+"."+n.Name] = n
		}
		if _, ok := r.named[n.Name]; !ok {
			r.named[n.Name] = n
		}
	}
	for i := range n.Fields {
		r.collect(&n.Fields[i].Type)
	}
	for i := range n.Branches {
		r.collect(&n.Branches[i])
	}
	r.collect(n.Items)
	r.collect(n.Values)
}

// appendJSON appends the JSON of v, decoded with the whole schema.
func (r *jsonRenderer) appendJSON(dst []byte, v any) ([]byte, error) {
	return r.append(dst, r.root, v)
}

// append appends the JSON of v, whose schema is n. A value whose schema is
// unknown is rendered from its Go type alone.
func (r *jsonRenderer) append(dst []byte, n *avro.SchemaNode, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if n == nil {
		return appendPlain(dst, v)
	}
	if def, ok := r.named[n.Type]; ok {
		n = def // a reference the expansion kept (a recursive type)
	}
	switch n.Type {
	case "record", "error":
		m, ok := v.(map[string]any)
		if !ok {
			return appendPlain(dst, v)
		}
		dst = append(dst, '{')
		for i := range n.Fields {
			f := &n.Fields[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, f.Name)
			dst = append(dst, ':')
			var err error
			if dst, err = r.append(dst, &f.Type, m[f.Name]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case "array":
		items, ok := v.([]any)
		if !ok {
			return appendPlain(dst, v)
		}
		dst = append(dst, '[')
		for i, item := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = r.append(dst, n.Items, item); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return appendPlain(dst, v)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, k); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = r.append(dst, n.Values, m[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case "union":
		return r.append(dst, r.unionBranch(n, v), v)
	case "bytes", "fixed":
		if r, ok := v.(*big.Rat); ok && n.LogicalType == "decimal" {
			return append(dst, r.FloatString(n.Scale)...), nil
		}
	}
	return appendPlain(dst, v)
}

// unionBranch returns the union branch a decoded container value belongs to,
// or nil when only the value's Go type matters.
func (r *jsonRenderer) unionBranch(n *avro.SchemaNode, v any) *avro.SchemaNode {
	var kinds []string
	switch v.(type) {
	case map[string]any:
		kinds = []string{"record", "error", "map"}
	case []any:
		kinds = []string{"array"}
	case *big.Rat:
		kinds = []string{"bytes", "fixed"}
	default:
		return nil
	}
	for i := range n.Branches {
		b := &n.Branches[i]
		if def, ok := r.named[b.Type]; ok {
			b = def
		}
		if slices.Contains(kinds, b.Type) {
			return b
		}
	}
	return nil
}

// appendPlain appends a leaf value by its Go type.
func appendPlain(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		dst = append(dst, '"')
		dst = x.UTC().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"'), nil
	case time.Duration:
		return strconv.AppendQuote(dst, x.String()), nil
	case float32:
		return appendFloat(dst, float64(x), 32), nil
	case float64:
		return appendFloat(dst, x, 64), nil
	case string:
		return appendString(dst, x)
	}
	return appendMarshal(dst, v)
}

// appendFloat writes a float as a JSON number, or NaN and the infinities as
// the strings Avro's JSON encoding uses.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

func appendString(dst []byte, s string) ([]byte, error) {
	return appendMarshal(dst, s)
}

// appendMarshal appends encoding/json's rendering of v without HTML escaping,
// so that <, > and & stay readable.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
