package app_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
)

var (
	timestamps = regexp.MustCompile(`"timestamp":\d+`)
	createdAt  = regexp.MustCompile(`"created_at":"[^"]*"`)
)

var update = flag.Bool("update", false, "rewrite the recorded streams in testdata")

// TestStreamRecordings records whole streams with fixed ids (and the
// clock's values replaced by fixed ones) and compares them with testdata/*.sse, which the node test
// (scripts/agui.test.mjs) reads with @ag-ui/client and validates with
// @ag-ui/core's schemas: so the recordings the stock client checks are
// what the server sends today. Run with -update to rewrite them.
func TestStreamRecordings(t *testing.T) {
	for _, c := range []struct {
		file, question string
		model          chat.Model
	}{
		{"stream-chart.sse", "Plot the S&P 500 close from 2007 to 2009", nil},
		{"stream-error.sse", "What was the average closing price of the S&P 500 in 2008?", failingModel{}},
	} {
		t.Run(c.file, func(t *testing.T) {
			var n atomic.Int64
			base := newApp(t, app.Deps{
				Model: c.model,
				NewID: func() string { return fmt.Sprintf("id-%d", n.Add(1)) },
			}, nil).URL
			resp := openStream(t, context.Background(), http.DefaultClient, base, tokenFor(t, "recorder"), c.question, "")
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The clock is the one thing that differs from run to run.
			got = timestamps.ReplaceAll(got, []byte(`"timestamp":1764193212031`))
			got = createdAt.ReplaceAll(got, []byte(`"created_at":"2026-11-26T21:40:12.031Z"`))
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/app -run TestStreamRecordings -update to record it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the stream differs from %s; if the change is meant, run go test ./shared/app -run TestStreamRecordings -update and review the diff\ngot:\n%s", path, got)
			}
		})
	}
}
