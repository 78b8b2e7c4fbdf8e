package weaviate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

// serverURL is the REST URL of the Weaviate started by `make test`
// (scripts/start-weaviate.sh).
func serverURL(t testing.TB) string {
	t.Helper()
	return chattest.ServerEnv(t, "WEAVIATE_TEST_URL", "scripts/start-weaviate.sh")
}

// grpcAddr is the host:port of that Weaviate's gRPC API.
func grpcAddr(t testing.TB) string {
	t.Helper()
	return chattest.ServerEnv(t, "WEAVIATE_TEST_GRPC_ADDR", "scripts/start-weaviate.sh")
}

// seeded holds the outcome of seeding the sample once per test binary:
// every test that needs the sample shares it, none modifies it.
var seeded struct {
	once     sync.Once
	err      error
	took     time.Duration
	progress string
	rows     map[string][]chattest.Row
}

// sampleWarehouse returns a Warehouse on the test server holding the
// sample data, seeding it on first use.
func sampleWarehouse(t testing.TB, opts weaviate.Options) (*weaviate.Warehouse, map[string][]chattest.Row) {
	t.Helper()
	opts.URL, opts.GRPCURL = serverURL(t), grpcAddr(t)
	w, err := weaviate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	seeded.once.Do(func() {
		ds, err := sample.Load()
		if err != nil {
			seeded.err = err
			return
		}
		seeded.rows = map[string][]chattest.Row{}
		for _, d := range ds {
			chattest.SampleRows(d.Collection.Name, d.Collection.FieldNames(), d.Rows, seeded.rows)
		}
		seeder, err := weaviate.New(weaviate.Options{URL: opts.URL, GRPCURL: opts.GRPCURL, Timeout: time.Minute})
		if err != nil {
			seeded.err = err
			return
		}
		var buf bytes.Buffer
		start := time.Now()
		seeded.err = weaviate.Seed(context.Background(), seeder, ds, &buf)
		seeded.took, seeded.progress = time.Since(start), buf.String()
	})
	if seeded.err != nil {
		t.Fatalf("seeding the sample: %v", seeded.err)
	}
	return w, seeded.rows
}

// rest sends one JSON request to the test server with plain net/http, so
// tests can set up collections the way any other Weaviate user would,
// without this package's code.
func rest(t testing.TB, method, path string, body any) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, serverURL(t)+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, out)
	}
	return out
}

// uniqueName returns a collection name no other test uses and deletes
// that collection, if it exists, when the test ends.
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s%d", prefix, time.Now().UnixNano())
	t.Cleanup(func() { rest(t, http.MethodDelete, "/v1/schema/"+name, nil) })
	return name
}

// createCollection creates a collection with a unique name from a class
// definition and deletes it when the test ends.
func createCollection(t testing.TB, prefix string, class map[string]any, objects []map[string]any) string {
	t.Helper()
	name := uniqueName(t, prefix)
	class["class"] = name
	rest(t, http.MethodPost, "/v1/schema", class)
	if len(objects) > 0 {
		for _, o := range objects {
			o["class"] = name
		}
		out := rest(t, http.MethodPost, "/v1/batch/objects", map[string]any{"objects": objects})
		if bytes.Contains(out, []byte(`"FAILED"`)) {
			t.Fatalf("batch import into %s: %s", name, out)
		}
	}
	return name
}

// countingTransport counts the requests that reach the network, to prove
// that refused calls never do.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func countingClient() (*http.Client, *countingTransport) {
	ct := &countingTransport{base: http.DefaultTransport}
	return &http.Client{Transport: ct}, ct
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
