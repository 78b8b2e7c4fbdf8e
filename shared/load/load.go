// Package load drives a datachat server with simulated users, the engine
// of `datachat load`: each user has its own identity and a unique marker
// in every question, does its turns with think time between them, and
// checks that nothing it is shown (answers, streams, its stored
// conversation) holds another user's marker or conversation.
package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tokens returns the bearer token of user i (0-based).
type Tokens func(ctx context.Context, i int) (string, error)

// Options describe one run.
type Options struct {
	URL      string        // base URL of the API, such as http://127.0.0.1:3000
	Users    int           // simulated users
	Turns    int           // turns per user
	Think    time.Duration // pause between a user's turns
	Rate     float64       // users arriving per second (open loop); 0 starts them all at once
	Stream   bool          // ask for server-sent events (Accept: text/event-stream)
	Question string        // the question each turn asks; the user's marker is appended
	Timeout  time.Duration // limit of one request
	Tokens   Tokens
	Client   *http.Client // nil: a client sized for Users connections
	// Progress, when set, is called about five times a second with the
	// turns done, failed and planned (a progress bar).
	Progress func(done, failed, planned int)
}

// DefaultQuestion is asked when Options.Question is empty.
const DefaultQuestion = "What was the average closing price of the S&P 500 in 2008?"

// Report is the outcome of a run; its JSON form is `datachat load --json`.
type Report struct {
	URL          string    `json:"url"`
	Users        int       `json:"users"`
	TurnsPerUser int       `json:"turns_per_user"`
	Stream       bool      `json:"stream"`
	Rate         float64   `json:"rate"` // users per second; 0 for all at once
	Started      time.Time `json:"started"`
	Seconds      float64   `json:"seconds"` // wall time of the run

	Planned        int            `json:"planned"`          // Users x TurnsPerUser
	OK             int            `json:"ok"`               // turns answered 200
	Failed         int            `json:"failed"`           // turns that were not
	ErrorsByStatus map[string]int `json:"errors_by_status"` // HTTP status ("0" for no response) -> count
	ErrorsByCode   map[string]int `json:"errors_by_code"`   // error code of the body (or "transport") -> count
	TurnsPerSecond float64        `json:"turns_per_second"` // answered turns per second of the run

	Latency    Stats  `json:"latency_ms"`               // request sent to answer read, answered turns
	FirstEvent *Stats `json:"first_event_ms,omitempty"` // request sent to the first event of the stream (Stream)
	StartLag   Stats  `json:"start_lag_ms"`             // actual start minus scheduled start, every turn

	StoredTurns int    `json:"stored_turns"` // turns found in the users' stored conversations afterwards
	Leaks       []Leak `json:"leaks"`        // any is a failure of isolation

	Samples []Sample `json:"samples"` // every turn
}

// Stats summarise durations in milliseconds.
type Stats struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Sample is one turn.
type Sample struct {
	User         int       `json:"user"`
	Turn         int       `json:"turn"`      // 1-based
	Scheduled    time.Time `json:"scheduled"` // when the schedule said it should start
	Started      time.Time `json:"started"`   // when its request was sent
	LatencyMs    float64   `json:"latency_ms"`
	FirstEventMs float64   `json:"first_event_ms,omitempty"`
	Status       int       `json:"status"`
	Code         string    `json:"code,omitempty"`
}

// Leak is something one user was shown that belongs to another.
type Leak struct {
	User  int    `json:"user"`  // who saw it
	Owner int    `json:"owner"` // whose it is (-1 when unknown)
	Where string `json:"where"` // answer, stream or stored
	What  string `json:"what"`  // marker or conversation
}

// markerPattern finds the markers of every run in a body.
var markerPattern = regexp.MustCompile(`ldm-[0-9a-f]{8}-u([0-9]+)\b`)

// convPattern finds conversation ids in a body.
var convPattern = regexp.MustCompile(`"conversation_id"\s*:\s*"([^"]+)"`)

// Run runs the load and returns its report; it returns an error only when
// the run could not start (bad options, no token).
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Users < 1 || o.Turns < 1 {
		return nil, errors.New("load: users and turns must be at least 1")
	}
	if o.Tokens == nil {
		return nil, errors.New("load: a token source is required")
	}
	if o.Question == "" {
		o.Question = DefaultQuestion
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: o.Users, MaxIdleConnsPerHost: o.Users, IdleConnTimeout: 90 * time.Second,
		}}
	}
	base := strings.TrimRight(o.URL, "/")
	var runID [4]byte
	_, _ = rand.Read(runID[:])
	r := &run{o: o, base: base, run: hex.EncodeToString(runID[:]), convs: map[string]int{}}
	tokens := make([]string, o.Users)
	for i := range tokens {
		t, err := o.Tokens(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("load: token of user %d: %w", i, err)
		}
		tokens[i] = t
	}

	rep := &Report{URL: base, Users: o.Users, TurnsPerUser: o.Turns, Stream: o.Stream, Rate: o.Rate,
		Planned: o.Users * o.Turns, ErrorsByStatus: map[string]int{}, ErrorsByCode: map[string]int{}, Leaks: []Leak{}}
	samples := make([][]Sample, o.Users)
	convOf := make([]string, o.Users)
	stop := make(chan struct{})
	if o.Progress != nil {
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					o.Progress(int(r.done.Load()), int(r.failed.Load()), rep.Planned)
				}
			}
		}()
	}
	start := time.Now()
	rep.Started = start
	var wg sync.WaitGroup
	for i := range o.Users {
		at := start
		if o.Rate > 0 {
			at = start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
		}
		wg.Go(func() { samples[i], convOf[i] = r.user(ctx, i, tokens[i], at) })
	}
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	close(stop)
	if o.Progress != nil {
		o.Progress(int(r.done.Load()), int(r.failed.Load()), rep.Planned)
	}

	// The stored conversations, read back once every turn is done.
	var stored atomic.Int64
	sem := make(chan struct{}, 64)
	for i := range o.Users {
		if convOf[i] == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			stored.Add(int64(r.checkStored(ctx, i, tokens[i], convOf[i])))
		}()
	}
	wg.Wait()
	rep.StoredTurns = int(stored.Load())

	var lat, first, lag []float64
	for _, us := range samples {
		for _, s := range us {
			rep.Samples = append(rep.Samples, s)
			lag = append(lag, ms(s.Started.Sub(s.Scheduled)))
			if s.Status == http.StatusOK && s.Code == "" {
				rep.OK++
				lat = append(lat, s.LatencyMs)
				if o.Stream {
					first = append(first, s.FirstEventMs)
				}
				continue
			}
			rep.Failed++
			rep.ErrorsByStatus[fmt.Sprint(s.Status)]++
			rep.ErrorsByCode[s.Code]++
		}
	}
	rep.Latency, rep.StartLag = summarize(lat), summarize(lag)
	if o.Stream {
		st := summarize(first)
		rep.FirstEvent = &st
	}
	if rep.Seconds > 0 {
		rep.TurnsPerSecond = float64(rep.OK) / rep.Seconds
	}
	rep.Leaks = append(rep.Leaks, r.leaks...)
	return rep, nil
}

type run struct {
	o      Options
	base   string
	run    string
	done   atomic.Int64
	failed atomic.Int64

	mu    sync.Mutex
	convs map[string]int // conversation id -> the user it was given to
	leaks []Leak
}

func (r *run) marker(i int) string { return fmt.Sprintf("ldm-%s-u%d", r.run, i) }

func (r *run) leak(l Leak) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaks = append(r.leaks, l)
}

// claim records that conversation c was given to user i, and reports a
// leak when it had been given to another user.
func (r *run) claim(i int, c, where string) {
	r.mu.Lock()
	owner, seen := r.convs[c]
	if !seen {
		r.convs[c] = i
	}
	r.mu.Unlock()
	if seen && owner != i {
		r.leak(Leak{User: i, Owner: owner, Where: where, What: "conversation " + c})
	}
}

// scan reports every marker in body that is not user i's.
func (r *run) scan(i int, body []byte, where string) {
	own := r.marker(i)
	for _, m := range markerPattern.FindAllSubmatch(body, -1) {
		if string(m[0]) == own {
			continue
		}
		owner := -1
		if strings.HasPrefix(string(m[0]), "ldm-"+r.run+"-") {
			fmt.Sscan(string(m[1]), &owner)
		}
		r.leak(Leak{User: i, Owner: owner, Where: where, What: "marker " + string(m[0])})
	}
}

// user does one user's turns, starting at at.
func (r *run) user(ctx context.Context, i int, token string, at time.Time) ([]Sample, string) {
	var out []Sample
	conv := ""
	next := at
	for t := 1; t <= r.o.Turns; t++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return out, conv
			}
		}
		s, c := r.turn(ctx, i, t, token, conv)
		s.Scheduled = next
		out = append(out, s)
		if c != "" && conv == "" {
			conv = c
		}
		if s.Status == http.StatusOK && s.Code == "" {
			r.done.Add(1)
		} else {
			r.failed.Add(1)
			r.done.Add(1)
		}
		next = time.Now().Add(r.o.Think)
	}
	return out, conv
}

type chatBody struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id,omitempty"`
}

func (r *run) turn(ctx context.Context, i, t int, token, conv string) (Sample, string) {
	s := Sample{User: i, Turn: t}
	body, _ := json.Marshal(chatBody{Message: fmt.Sprintf("%s (%s turn %d)", r.o.Question, r.marker(i), t), ConversationID: conv})
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/chat", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if r.o.Stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	s.Started = time.Now()
	resp, err := r.o.Client.Do(req)
	if err != nil {
		s.LatencyMs, s.Code = ms(time.Since(s.Started)), "transport"
		return s, ""
	}
	defer resp.Body.Close()
	s.Status = resp.StatusCode
	var buf bytes.Buffer
	where := "answer"
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		where = "stream"
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadBytes('\n')
			if s.FirstEventMs == 0 && bytes.HasPrefix(line, []byte("data:")) {
				s.FirstEventMs = ms(time.Since(s.Started))
			}
			buf.Write(line)
			if err != nil {
				break
			}
		}
	} else if _, err := io.Copy(&buf, resp.Body); err != nil {
		s.Code = "transport"
	}
	s.LatencyMs = ms(time.Since(s.Started))
	b := buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		s.Code = e.Error.Code
		if s.Code == "" {
			s.Code = "unknown"
		}
	} else if where == "answer" && !bytes.Contains(b, []byte(r.marker(i))) {
		// The server stores and returns the question: an answer without
		// the user's own marker is not this user's turn.
		s.Code = "wrong_answer"
	}
	r.scan(i, b, where)
	got := ""
	for _, m := range convPattern.FindAllSubmatch(b, -1) {
		c := string(m[1])
		if conv != "" && c != conv {
			r.leak(Leak{User: i, Owner: -1, Where: where, What: "conversation " + c})
		}
		r.claim(i, c, where)
		got = c
	}
	return s, got
}

// checkStored reads user i's conversation back and returns how many turns
// it holds, scanning it for other users' markers.
func (r *run) checkStored(ctx context.Context, i int, token, conv string) int {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/conversations/"+conv, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.o.Client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	r.scan(i, b, "stored")
	var c struct {
		ConversationID string            `json:"conversation_id"`
		Turns          []json.RawMessage `json:"turns"`
	}
	if json.Unmarshal(b, &c) != nil {
		return 0
	}
	if c.ConversationID != conv {
		r.leak(Leak{User: i, Owner: -1, Where: "stored", What: "conversation " + c.ConversationID})
	}
	return len(c.Turns)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summarize(v []float64) Stats {
	if len(v) == 0 {
		return Stats{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	q := func(p float64) float64 {
		// Nearest rank: the smallest value with at least p of the samples at or below it.
		k := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(k, len(s)-1))]
	}
	return Stats{Count: len(s), Mean: sum / float64(len(s)), P50: q(0.5), P90: q(0.9), P95: q(0.95), P99: q(0.99), Max: s[len(s)-1]}
}
