package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/datachat/datachat/shared/reqlog"
)

func TestEveryLineCarriesTheIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(reqlog.Handler(slog.NewJSONHandler(&buf, nil))).With("component", "test").WithGroup("g")
	ctx := reqlog.With(context.Background(), reqlog.IDs{Request: "req-1", Trace: "Root=1-abc"})
	log.InfoContext(ctx, "hello", "k", "v")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	g, _ := line["g"].(map[string]any)
	if g["request_id"] != "req-1" || g["trace_id"] != "Root=1-abc" || line["component"] != "test" {
		t.Errorf("got %s, want request_id and trace_id", buf.Bytes())
	}

	buf.Reset()
	log.Info("no ids")
	if bytes.Contains(buf.Bytes(), []byte("request_id")) {
		t.Errorf("a line without ids in its context got them: %s", buf.Bytes())
	}
}
