package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/web"
)

const root = "../.."

// requireNode skips (or under make test fails) when node_modules or node
// is missing.
func requireNodeModules(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "node_modules", "vega-lite")); err != nil {
		if os.Getenv("DATACHAT_REQUIRE_SERVERS") == "1" {
			t.Fatalf("node_modules/vega-lite is missing under make test: %v", err)
		}
		t.Skip("node_modules is missing: run `npm ci` (make test does)")
	}
}

// TestVendoredLibrariesAreNodeModulesCopies keeps the embedded chart
// libraries identical to the versions package-lock.json pins, so they
// cannot go stale: `make web-vendor` copies them.
func TestVendoredLibrariesAreNodeModulesCopies(t *testing.T) {
	requireNodeModules(t)
	listed := map[string]bool{}
	for embedded, src := range web.Vendored() {
		listed[embedded] = true
		got, err := fs.ReadFile(web.Files(), embedded)
		if err != nil {
			t.Errorf("%s is not embedded: %v", embedded, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("shared/web/%s differs from %s: run `make web-vendor`", embedded, src)
		}
	}
	entries, err := fs.ReadDir(web.Files(), "assets/vendor")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed["assets/vendor/"+e.Name()] {
			t.Errorf("assets/vendor/%s is embedded but not a known copy of node_modules", e.Name())
		}
	}

	var pkg struct{ Dependencies map[string]string }
	readJSON(t, filepath.Join(root, "package.json"), &pkg)
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	readJSON(t, filepath.Join(root, "package-lock.json"), &lock)
	wantMajor := map[string]string{"vega": "6", "vega-lite": "6", "vega-embed": "7"}
	for name, major := range wantMajor {
		v := pkg.Dependencies[name]
		if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) || !strings.HasPrefix(v, major+".") {
			t.Errorf("package.json pins %s %q; want an exact %s.x.y version", name, v, major)
		}
		if got := lock.Packages["node_modules/"+name].Version; got != v {
			t.Errorf("package-lock.json has %s %s, package.json %s: run npm install", name, got, v)
		}
		var installed struct{ Version string }
		readJSON(t, filepath.Join(root, "node_modules", name, "package.json"), &installed)
		if installed.Version != v {
			t.Errorf("node_modules has %s %s, package.json pins %s: run npm ci", name, installed.Version, v)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPageURLsAreRelative: the page works under a stage path (/Prod/)
// only if no URL in it starts at the root or leaves the origin.
func TestPageURLsAreRelative(t *testing.T) {
	for _, name := range []string{"index.html", "assets/app.js", "assets/app.css"} {
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{
			regexp.MustCompile(`(?:href|src)="(/[^"]*|https?:[^"]*)"`),
			regexp.MustCompile(`fetch\("(/[^"]*|https?:[^"]*)"`),
			regexp.MustCompile(`api\("(/[^"]*)"`),
			regexp.MustCompile(`url\((/[^)]*|https?:[^)]*)\)`),
		} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				t.Errorf("%s refers to %q; use a URL relative to the page", name, m[1])
			}
		}
	}
}

// questions are the question shapes of the offline model (README), in
// several phrasings; each element is one conversation.
var questions = [][]string{
	{"What was the average closing price of the S&P 500 in 2008?", "And in 2009?"},
	{"Which day had the highest trading volume in 2010?"},
	{"Plot the S&P 500 close from 2007 to 2009", "And in 2012?"},
	{"chart the index between 2009-03-01 and 2009-06-30"},
	{"Compare AAPL and MSFT since 2005"},
	{"compare GOOG, AMZN and IBM from 2006 to 2008"},
	{"Average price by symbol"},
	{"yearly average close of the S&P 500"},
	{"Top 5 months for AMZN by price"},
	{"top 3 years of the S&P 500 by volume"},
	{"What can you do?"},
}

// TestChartsCompileWithTheShippedVegaLite asks every question shape
// through the service, as `make run` serves it, and hands every chart it
// answers with to the node test, which compiles them with the embedded
// vega-lite.
func TestChartsCompileWithTheShippedVegaLite(t *testing.T) {
	requireNodeModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on the PATH; make test needs Node.js 20 or newer")
	}
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewHS256([]byte(testSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	tok, _, err := v.Sign("charts", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type emitted struct {
		Question string         `json:"question"`
		Chart    map[string]any `json:"chart"`
	}
	var charts []emitted
	for _, conv := range questions {
		id := ""
		for _, q := range conv {
			body, _ := json.Marshal(map[string]string{"message": q, "conversation_id": id})
			if id == "" {
				body, _ = json.Marshal(map[string]string{"message": q})
			}
			req, _ := http.NewRequest("POST", srv.URL+"/chat", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var ans struct {
				ConversationID string         `json:"conversation_id"`
				Chart          map[string]any `json:"chart"`
			}
			err = json.NewDecoder(res.Body).Decode(&ans)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("%q: status %d, %v", q, res.StatusCode, err)
			}
			id = ans.ConversationID
			if ans.Chart != nil {
				charts = append(charts, emitted{q, ans.Chart})
			}
		}
	}
	// Series, comparisons, groupings and top-N are charted: a test that
	// found none would check nothing.
	if len(charts) < 6 {
		t.Fatalf("only %d of the questions were answered with a chart, want at least 6", len(charts))
	}
	file := filepath.Join(t.TempDir(), "charts.json")
	b, _ := json.Marshal(charts)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--test", "--test-reporter=spec", "shared/web/test/charts.test.mjs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHARTS_FILE="+file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%d charts compiled with the shipped vega-lite:\n%s", len(charts), out)
}
