package plmsim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPage100k serves pages of 1000 from a log of 100k records per
// type: ascending by type (the fast path) and mixed with a text filter.
func BenchmarkPage100k(b *testing.B) {
	sim := New(Config{StaticToken: "bench", Clock: func() time.Time { return testNow }})
	sim.Generate(testNow.Add(-365*24*time.Hour), testNow, map[string]int{TypeItem: 100_000, TypeSystem: 100_000})
	for _, q := range []string{"type=item&sort=timestamp%20asc&limit=1000&offset=", "filter[description]=log&limit=1000&offset="} {
		b.Run(q, func(b *testing.B) {
			for i := range b.N {
				req := httptest.NewRequest(http.MethodGet, "/api/v3/tenants/DEMO/system-logs?"+q+strconv.Itoa(i%50*1000), nil)
				req.Header.Set("Authorization", "Bearer bench")
				req.Header.Set("X-user-id", DefaultUserID)
				rec := httptest.NewRecorder()
				sim.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
