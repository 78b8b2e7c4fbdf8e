package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/httpapi"
	"github.com/datachat/datachat/shared/offline"
)

// The page is tested in Debian's Chromium, headless, against the whole
// service (embedded defaults, as `make run` serves it) mounted under
// /Prod/ as API Gateway's stage path mounts it.

const (
	prefix     = "/Prod"
	testSecret = "web-test-secret-0123456789abcdef0123456"
	// failQuestion makes the test model fail, to see a server error's message.
	failQuestion = "please fail the model"
	failMessage  = "the model provider is overloaded; try again in a minute"
)

// slowModel is the offline model with a pause before each answer, so the
// page's live steps are observable before the turn completes, and a
// failure for failQuestion.
type slowModel struct {
	chat.Model
	delay time.Duration
}

func (m slowModel) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	for _, msg := range req.Messages {
		if msg.Role == chat.RoleUser && msg.Content == failQuestion {
			return chat.ModelResponse{}, chat.Errorf(chat.CodeModelUnavailable, failMessage)
		}
	}
	select {
	case <-time.After(m.delay):
	case <-ctx.Done():
		return chat.ModelResponse{}, ctx.Err()
	}
	return m.Model.Complete(ctx, req)
}

// clock is the verifier's and issuer's clock, which the test moves to
// expire the page's token.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) issuer(v *auth.HS256) func(string) (string, time.Time, error) {
	return func(user string) (string, time.Time, error) { return v.Sign(user, time.Hour) }
}

type service struct {
	url   string // the page, under the prefix, with its trailing slash
	clock *clock
	srv   *httptest.Server
}

func startService(t *testing.T) *service {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	v, err := auth.NewHS256([]byte(testSecret), c.now)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Deps{
		Auth: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LocalTokens: httpapi.TokenIssuerFunc(c.issuer(v)),
		Model:       slowModel{Model: offline.New(), delay: 300 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, a.Handler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &service{url: srv.URL + prefix + "/", clock: c, srv: srv}
}

// streams reports whether POST /chat answers a request for an event
// stream with one; a build without the streaming route answers JSON, and
// then there are no live steps to see.
func (s *service) streams(t *testing.T) bool {
	t.Helper()
	tok, err := auth.Issue([]byte(testSecret), "probe", time.Hour, s.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.url+"chat", strings.NewReader(`{"message":"hello"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream")
}

// problem is a console error, an uncaught exception or a failed request.
type problem struct{ kind, text string }

// tab is one browser tab with everything that went wrong in it recorded.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []problem
	urls     map[network.RequestID]string // of the requests in flight
}

func (b *tab) record(kind, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, problem{kind, text})
}

// expect removes the recorded problems that contain s (the failures a
// step causes on purpose) and returns how many there were.
func (b *tab) expect(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	b.problems = slices.DeleteFunc(b.problems, func(p problem) bool {
		if strings.Contains(p.text, s) {
			n++
			return true
		}
		return false
	})
	return n
}

func (b *tab) checkClean(t *testing.T, step string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("%s: %s: %s", step, p.kind, p.text)
	}
	b.problems = nil
}

func newTab(t *testing.T) *tab {
	t.Helper()
	exe := chattest.ServerEnv(t, "DATACHAT_CHROMIUM", "scripts/start-chromium.sh")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in a container has no user namespaces for the sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	b := &tab{ctx: ctx, urls: map[network.RequestID]string{}}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.record("console error", strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if ex := e.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
			b.record("exception", fmt.Sprintf("%s at %s:%d", msg, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber+1))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				b.record("log error", e.Entry.Text+" "+e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.urls[e.RequestID] = e.Request.Method + " " + e.Request.URL
			b.mu.Unlock()
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				b.record("failed request", fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			}
		case *network.EventLoadingFinished:
			b.mu.Lock()
			delete(b.urls, e.RequestID)
			b.mu.Unlock()
		case *network.EventLoadingFailed:
			b.mu.Lock()
			u := b.urls[e.RequestID]
			delete(b.urls, e.RequestID)
			b.mu.Unlock()
			b.record("failed request", e.ErrorText+" "+string(e.Type)+" "+u)
		}
	})
	if err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		func() error { _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatalf("Chromium (%s): %v", exe, err)
		}
	}
	// Tests of the whole page take seconds; a hung page fails, not hangs.
	ctx, cancelRun := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelRun)
	b.ctx = ctx
	return b
}

func (b *tab) run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval runs a JavaScript expression and returns its value.
func eval[T any](t *testing.T, b *tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript expression until it is truthy. It asks
// again after an error, since a navigation (a sign-in's redirects) drops
// the page's JavaScript context under a pending evaluation.
func (b *tab) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")")); err == nil && ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): not true after 30 s (last error: %v)", what, expr, err)
}

// idle waits until no request of the page is in flight, so a reload
// aborts nothing.
func (b *tab) idle(t *testing.T) {
	t.Helper()
	for range 500 {
		b.mu.Lock()
		n := len(b.urls)
		b.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("requests still in flight after 10 s: %v", b.urls)
}

// byLabel is the XPath of the control a <label> with that text names.
func byLabel(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@id=//label[normalize-space()=%q]/@for]`, text))
}

// button is the XPath of a visible button with that text.
func button(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q][not(ancestor::*[@hidden])]`, text))
}

func (b *tab) signIn(t *testing.T, user string) {
	t.Helper()
	b.run(t, chromedp.WaitVisible(byLabel("User name")))
	eval[string](t, b, `document.getElementById("user-name").value = ""`)
	b.run(t,
		chromedp.SendKeys(byLabel("User name"), user),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(byLabel("Message")),
	)
}

// ask types a question into the message box and presses Enter.
func (b *tab) ask(t *testing.T, question string) {
	t.Helper()
	b.run(t,
		chromedp.Focus(byLabel("Message")),
		chromedp.SendKeys(byLabel("Message"), question+"\r"),
	)
}

const lastTurn = `document.querySelector("#turns > li:last-child")`

// waitAnswered waits until the last turn is complete and returns the
// number of turns shown.
func (b *tab) waitAnswered(t *testing.T) int {
	t.Helper()
	b.waitFor(t, "the answer", lastTurn+` && !`+lastTurn+`.hasAttribute("aria-busy")`)
	return eval[int](t, b, `document.querySelectorAll("#turns > li").length`)
}

// sp500 and stocks are the sample CSVs, read here independently of the
// code under test.
func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "sample", "data", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func meanClose(t *testing.T, year string) float64 {
	sum, n := 0.0, 0
	for _, r := range readCSV(t, "sp500-2000.csv") {
		if strings.HasPrefix(r[0], year+"-") {
			v, err := strconv.ParseFloat(r[4], 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += v
			n++
		}
	}
	return sum / float64(n)
}

// topMonths returns the n highest monthly prices of symbol.
func topMonths(t *testing.T, symbol string, n int) []float64 {
	var prices []float64
	for _, r := range readCSV(t, "stocks.csv") {
		if r[0] == symbol {
			v, err := strconv.ParseFloat(r[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			prices = append(prices, v)
		}
	}
	slices.Sort(prices)
	slices.Reverse(prices)
	return prices[:n]
}

// en formats as the page does in an en-US browser: thousands separators,
// two decimals.
func en(v float64) string {
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', 2, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, byte(c))
	}
	if frac != "" {
		return string(out) + "." + frac
	}
	return string(out)
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("DATACHAT_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "datachat-page-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (b *tab) screenshot(t *testing.T, width int, name string) {
	t.Helper()
	b.run(t,
		chromedp.EmulateViewport(int64(width), 900),
		chromedp.Sleep(300*time.Millisecond), // vega redraws at the new width
	)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactsDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot at %d px: %s", width, path)
}

// TestPageChat drives the page as a user does: sign in, a question with a
// table, a follow-up, a chart whose steps show while it is worked on, the
// list, a reload, sorting, a delete.
func TestPageChat(t *testing.T) {
	svc := startService(t)
	b := newTab(t)

	// The stage URL without its trailing slash still loads the page.
	b.run(t, chromedp.Navigate(strings.TrimSuffix(svc.url, "/")))
	b.signIn(t, "alice")
	if got := eval[string](t, b, `location.pathname`); got != prefix+"/" {
		t.Errorf("page at %s, want %s/", got, prefix)
	}
	if got := eval[string](t, b, `location.href`); strings.Contains(got, "ey") && strings.Contains(got, "token") {
		t.Errorf("the address bar holds a token: %s", got)
	}
	b.checkClean(t, "sign-in")

	t.Run("accessible names", func(t *testing.T) {
		res, err := chromedp.Call(b.ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		if err != nil {
			t.Fatal(err)
		}
		nodes := res.Nodes
		want := map[string]string{"Message": "textbox", "Send": "button", "New conversation": "button"}
		for _, n := range nodes {
			if n.Name == nil || n.Role == nil || n.Ignored {
				continue
			}
			name, role := fmt.Sprint(n.Name.Value), fmt.Sprint(n.Role.Value)
			if want[strings.Trim(name, `"`)] == strings.Trim(role, `"`) {
				delete(want, strings.Trim(name, `"`))
			}
		}
		for name, role := range want {
			t.Errorf("no %s named %q in the accessibility tree", role, name)
		}
	})

	t.Run("metric and follow-up", func(t *testing.T) {
		b.ask(t, "What was the average closing price of the S&P 500 in 2008?")
		if n := b.waitAnswered(t); n != 1 {
			t.Fatalf("%d turns shown, want 1", n)
		}
		cell := eval[string](t, b, lastTurn+`.querySelector("td[data-column=mean_close]").textContent`)
		if want := en(meanClose(t, "2008")); cell != want {
			t.Errorf("mean close 2008 shown as %q, want %q (from the CSV)", cell, want)
		}
		if got := eval[string](t, b, lastTurn+`.querySelector(".usage").textContent`); !strings.Contains(got, "model requests") || !strings.Contains(got, "tokens") {
			t.Errorf("usage = %q, want model requests and tokens", got)
		}
		if got := eval[string](t, b, `document.activeElement.id`); got != "message" {
			t.Errorf("focus after sending is on #%s, want the message box", got)
		}
		first := eval[string](t, b, `location.hash`)

		b.ask(t, "And in 2009?")
		if n := b.waitAnswered(t); n != 2 {
			t.Fatalf("%d turns shown after the follow-up, want 2", n)
		}
		cell = eval[string](t, b, lastTurn+`.querySelector("td[data-column=mean_close]").textContent`)
		if want := en(meanClose(t, "2009")); cell != want {
			t.Errorf("mean close 2009 shown as %q, want %q (from the CSV)", cell, want)
		}
		if got := eval[string](t, b, `location.hash`); got != first {
			t.Errorf("the follow-up moved to conversation %s, want %s", got, first)
		}
		b.checkClean(t, "metric and follow-up")
	})

	t.Run("chart with live steps", func(t *testing.T) {
		streams := svc.streams(t)
		b.run(t, chromedp.Click(button("New conversation")))
		b.waitFor(t, "an empty conversation", `document.querySelectorAll("#turns > li").length === 0`)
		b.ask(t, "Plot the S&P 500 close from 2007 to 2009")
		if streams {
			// A step is on screen while the turn is still being worked on.
			b.waitFor(t, "a live step", lastTurn+` && `+lastTurn+`.querySelector(".steps li")`)
			if busy := eval[bool](t, b, lastTurn+`.hasAttribute("aria-busy") && !`+lastTurn+`.querySelector(".usage").textContent`); !busy {
				t.Error("the first step appeared only once the answer was complete; want it while the turn runs")
			}
		}
		b.waitAnswered(t)
		b.waitFor(t, "the chart's marks", lastTurn+`.querySelector(".chart svg .mark-line path, .chart svg .mark-symbol path")`)
		if got := eval[bool](t, b, `!!document.querySelector(".vega-embed .vega-actions, .vega-embed details")`); !got {
			t.Error("the chart has no actions menu (save as SVG/PNG)")
		}
		if streams {
			b.screenshot(t, 1280, "page-steps-1280.png")
			if open := eval[bool](t, b, lastTurn+`.querySelector("details.steps").open`); open {
				t.Error("the steps stay open after the answer; want them collapsed")
			}
			steps := eval[string](t, b, lastTurn+`.querySelector(".steps").textContent`)
			if !strings.Contains(steps, "SP500") || !strings.Contains(steps, "rows") {
				t.Errorf("steps = %q, want the tool's collection and rows", steps)
			}
		} else {
			t.Log("POST /chat does not stream in this build: live steps not checked")
		}
		b.checkClean(t, "chart")
	})

	t.Run("table", func(t *testing.T) {
		b.ask(t, "Top 5 months for AMZN by price")
		b.waitAnswered(t)
		got := eval[[]string](t, b, `[...`+lastTurn+`.querySelectorAll("td[data-column=price]")].map(td => td.textContent)`)
		want := topMonths(t, "AMZN", 5)
		if len(got) != len(want) {
			t.Fatalf("price cells = %q, want %d", got, len(want))
		}
		for i := range want {
			if got[i] != en(want[i]) {
				t.Errorf("row %d price %q, want %q (from the CSV)", i, got[i], en(want[i]))
			}
		}
		if d := eval[string](t, b, lastTurn+`.querySelector("td[data-column=date]").textContent`); d != "Nov 1, 2009" {
			t.Errorf("first date shown as %q, want Nov 1, 2009", d)
		}
		if note := eval[string](t, b, lastTurn+`.querySelector(".table-tools").textContent`); !strings.Contains(note, "of 123 rows: the query asked for 5") {
			t.Errorf("table notice = %q, want the truncation notice with the total", note)
		}
		// Sorting by price ascending puts the lowest of the five first.
		b.run(t, chromedp.Click(chromedp.CSS(`#turns > li:last-child th:nth-child(4) button`)))
		if first := eval[string](t, b, lastTurn+`.querySelector("tbody tr td[data-column=price]").textContent`); first != en(want[4]) {
			t.Errorf("after sorting by price, first price %q, want %q", first, en(want[4]))
		}
		if s := eval[string](t, b, lastTurn+`.querySelector("th:nth-child(4)").getAttribute("aria-sort")`); s != "ascending" {
			t.Errorf("aria-sort = %q, want ascending", s)
		}
		b.checkClean(t, "table")
	})

	t.Run("csv download", func(t *testing.T) {
		dir := t.TempDir()
		done := make(chan string, 1)
		go func() {
			for e, err := range chromedp.BrowserEvents(b.ctx, browser.DownloadProgress) {
				if err != nil {
					return
				}
				if e.State == browser.DownloadProgressStateCompleted {
					done <- e.GUID
					return
				}
			}
		}()
		events := true
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
		}); err != nil {
			t.Fatal(err)
		}
		b.run(t, chromedp.Click(chromedp.CSS(`#turns > li:last-child .table-tools button`)))
		var guid string
		select {
		case guid = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the CSV download did not complete")
		}
		body, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatalf("the download is not CSV: %v\n%s", err, body)
		}
		if len(rows) != 6 || strings.Join(rows[0], ",") != "symbol,date,month,price" {
			t.Fatalf("CSV = %q, want a header and 5 rows", rows)
		}
		if rows[1][3] != strconv.FormatFloat(topMonths(t, "AMZN", 1)[0], 'f', -1, 64) {
			t.Errorf("CSV first price %q, want the raw value %v", rows[1][3], topMonths(t, "AMZN", 1)[0])
		}
	})

	t.Run("list, reload, delete", func(t *testing.T) {
		titles := eval[[]string](t, b, `[...document.querySelectorAll("#conversations .title")].map(e => e.textContent)`)
		want := []string{"Plot the S&P 500 close from 2007 to 2009", "What was the average closing price of the S&P 500 in 2008?"}
		if !slices.Equal(titles, want) {
			t.Errorf("conversations listed %q, want newest first %q", titles, want)
		}
		b.idle(t)
		b.run(t, chromedp.Reload())
		b.waitFor(t, "the conversation after reload", `document.querySelectorAll("#turns > li").length === 2`)
		if q := eval[string](t, b, `document.querySelector("#turns > li .question").textContent`); q != want[0] {
			t.Errorf("after reload the first question is %q, want %q", q, want[0])
		}
		b.waitFor(t, "the chart after reload", `document.querySelector("#turns .chart svg .mark-line path")`)
		b.waitFor(t, "the list after reload", `document.querySelectorAll("#conversations li").length === 2`)

		b.screenshot(t, 1280, "page-1280.png")
		b.screenshot(t, 375, "page-375.png")
		if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("at 375 px the page scrolls sideways: %d px wide in %d", w[0], w[1])
		}
		b.run(t, chromedp.EmulateViewport(1280, 900))

		b.run(t, chromedp.Click(chromedp.Search(`//button[@aria-label="Delete conversation: `+want[0]+`"]`)))
		b.waitFor(t, "the delete", `document.querySelectorAll("#conversations li").length === 1`)
		if n := eval[int](t, b, `document.querySelectorAll("#turns > li").length`); n != 0 {
			t.Errorf("%d turns still shown after deleting the open conversation", n)
		}
		b.idle(t)
		b.run(t, chromedp.Reload())
		b.waitFor(t, "the list after reload", `document.querySelectorAll("#conversations li").length === 1`)
		if got := eval[string](t, b, `document.querySelector("#conversations .title").textContent`); got != want[1] {
			t.Errorf("after the delete the list shows %q, want %q", got, want[1])
		}
		b.checkClean(t, "list")
	})

	t.Run("server error", func(t *testing.T) {
		b.ask(t, failQuestion)
		b.waitAnswered(t)
		if got := eval[string](t, b, lastTurn+`.querySelector(".error[role=alert]").textContent`); got != failMessage {
			t.Errorf("error shown as %q, want the server's message %q", got, failMessage)
		}
		b.expect("503") // the model's failure, on purpose
		b.checkClean(t, "server error")
	})

	t.Run("expired token", func(t *testing.T) {
		svc.clock.advance(2 * time.Hour)
		b.ask(t, "What was the average closing price of the S&P 500 in 2010?")
		b.waitFor(t, "the sign-in form", `!document.getElementById("signin").hidden`)
		msg := eval[string](t, b, `document.getElementById("signin-message").textContent`)
		if !strings.Contains(msg, "expired") {
			t.Errorf("sign-in message %q, want it to say the session expired", msg)
		}
		if got := eval[string](t, b, `document.activeElement.id`); got != "user-name" {
			t.Errorf("focus on #%s after the expiry, want the user name field", got)
		}
		if n := b.expect("401"); n == 0 {
			t.Error("no 401 seen: the page went back to sign-in without asking the server")
		}
		b.checkClean(t, "expired token")
		b.signIn(t, "alice")
		b.waitFor(t, "the list", `document.querySelectorAll("#conversations li").length === 1`)
		b.checkClean(t, "sign-in again")
	})
}

// fakeCognito is the part of Cognito's managed login the page talks to:
// /oauth2/authorize sends the browser back with a code, /oauth2/token
// exchanges it for tokens only with the PKCE verifier of its challenge,
// /logout sends the browser back.
func fakeCognito(t *testing.T, clientID, user string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var mu sync.Mutex
	challenges := map[string][2]string{} // code -> challenge, redirect_uri
	var exchanged atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != clientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorize request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		mu.Lock()
		challenges["code-1"] = [2]string{q.Get("code_challenge"), q.Get("redirect_uri")}
		mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=code-1&state="+q.Get("state"), http.StatusFound)
	})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		c, ok := challenges[r.PostForm.Get("code")]
		delete(challenges, r.PostForm.Get("code"))
		mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("client_id") != clientID ||
			r.PostForm.Get("redirect_uri") != c[1] || base64.RawURLEncoding.EncodeToString(sum[:]) != c[0] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		tok, err := auth.Issue([]byte(testSecret), user, time.Hour, time.Now())
		if err != nil {
			t.Error(err)
		}
		exchanged.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id_token":%q,"access_token":"unused","token_type":"Bearer","expires_in":3600}`, tok)
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("client_id") != clientID {
			http.Error(w, "bad logout request", 400)
			return
		}
		http.Redirect(w, r, r.URL.Query().Get("logout_uri"), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &exchanged
}

// TestPageCognitoSignIn: in AWS the page signs in through the pool's
// managed login with the authorization code flow and PKCE, and leaves no
// code or token in the address bar.
func TestPageCognitoSignIn(t *testing.T) {
	idp, exchanged := fakeCognito(t, "test-client", "carol")
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	// As in Lambda: no local sign-in, and tokens come from the pool (here
	// signed with the secret the stand-in for API Gateway's authorizer checks).
	cfg.Cognito = config.Cognito{Domain: idp.URL, ClientID: "test-client"}
	v, err := auth.NewHS256([]byte(testSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, a.Handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := newTab(t)
	b.run(t, chromedp.Navigate(srv.URL+prefix+"/"))
	b.waitFor(t, "the sign-in button", `!document.getElementById("cognito-form").hidden`)
	if local := eval[bool](t, b, `!document.getElementById("local-form").hidden`); local {
		t.Error("the page offers the local sign-in form where the identity comes from Cognito")
	}
	b.run(t, chromedp.Click(button("Sign in")))
	b.waitFor(t, "the page after sign-in", `!document.getElementById("app").hidden`)
	if got := eval[string](t, b, `location.href`); got != srv.URL+prefix+"/" {
		t.Errorf("address after sign-in %q, want the page with no code or state", got)
	}
	if n := exchanged.Load(); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
	if got := eval[string](t, b, `document.getElementById("who").textContent`); got != "Signed in as carol" {
		t.Errorf("who = %q", got)
	}
	if got := eval[bool](t, b, `sessionStorage.getItem("datachat.pkce") === null`); !got {
		t.Error("the PKCE verifier outlived the sign-in")
	}
	b.ask(t, "What was the average closing price of the S&P 500 in 2008?")
	b.waitAnswered(t)
	if cell := eval[string](t, b, lastTurn+`.querySelector("td[data-column=mean_close]").textContent`); cell != en(meanClose(t, "2008")) {
		t.Errorf("mean close shown as %q, want %q", cell, en(meanClose(t, "2008")))
	}
	b.idle(t)
	b.run(t, chromedp.Click(button("Sign out")))
	b.waitFor(t, "the sign-in after sign-out", `document.readyState === "complete" && !document.getElementById("cognito-form").hidden`)
	if got := eval[bool](t, b, `sessionStorage.getItem("datachat.session") === null`); !got {
		t.Error("the token is still in sessionStorage after signing out")
	}
	b.checkClean(t, "Cognito sign-in")
}
