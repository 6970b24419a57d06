package serde

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/twmb/avro"
)

// TestAppendJSON covers the shapes the event schemas do not use.
func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		value  any
		want   string
	}{
		{
			name:   "non-finite floats",
			schema: `{"type":"record","name":"F","fields":[{"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"n","type":"double"},{"name":"u","type":["null","double"]}]}`,
			value:  map[string]any{"f": float32(math.Inf(1)), "d": math.Inf(-1), "n": math.NaN(), "u": 1.5},
			want:   `{"f":"Infinity","d":"-Infinity","n":"NaN","u":1.5}`,
		},
		{
			name:   "decimal and time-millis",
			schema: `{"type":"record","name":"D","fields":[{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},{"name":"opt","type":["null",{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}]},{"name":"took","type":{"type":"int","logicalType":"time-millis"}}]}`,
			value:  map[string]any{"amount": big.NewRat(12345, 100), "opt": big.NewRat(1, 2), "took": 1500 * time.Millisecond},
			want:   `{"amount":123.45,"opt":0.500,"took":"1.5s"}`,
		},
		{
			name:   "arrays and maps of unions of records",
			schema: `{"type":"record","name":"A","fields":[{"name":"items","type":{"type":"array","items":["null",{"type":"record","name":"I","fields":[{"name":"z","type":"int"},{"name":"a","type":"string"}]}]}},{"name":"m","type":{"type":"map","values":["null",{"type":"array","items":"long"}]}}]}`,
			value: map[string]any{
				"items": []any{nil, map[string]any{"z": int32(1), "a": "x"}},
				"m":     map[string]any{"b": []any{int64(2)}, "a": nil},
			},
			want: `{"items":[null,{"z":1,"a":"x"}],"m":{"a":null,"b":[2]}}`,
		},
		{
			name:   "recursive reference",
			schema: `{"type":"record","name":"L","fields":[{"name":"v","type":"string"},{"name":"next","type":["null","L"]}]}`,
			value:  map[string]any{"v": "a", "next": map[string]any{"v": "b", "next": nil}},
			want:   `{"v":"a","next":{"v":"b","next":null}}`,
		},
		{
			name:   "html characters and timestamps stay readable",
			schema: `{"type":"record","name":"H","fields":[{"name":"s","type":"string"},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
			value:  map[string]any{"s": "<a&b>", "t": time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))},
			want:   `{"s":"<a&b>","t":"2024-01-02T02:04:05.006Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := avro.Parse(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			// Go through the binary form so the value is what Decode yields.
			b, err := s.Encode(tt.value)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			var v any
			if _, err := s.Decode(b, &v); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, err := newJSONRenderer(s).appendJSON(nil, v)
			if err != nil {
				t.Fatalf("appendJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("appendJSON\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
