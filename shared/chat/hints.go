package chat

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hintTokens bounds what field descriptions and value hints add to the
// system prompt, which is sent with every request of a turn.
const hintTokens = 800

// hintValues is how many values of a text field the prompt lists.
const hintValues = 5

// ValueHints asks w for what the model should know of each field's values
// before it writes a filter: the range of numbers and dates, and the values
// of text fields (all of them when there are at most five, else a few with
// their count). Keys are collection, then field. It uses only Query and
// Aggregate, so every warehouse gives the same hints; a failed call just
// leaves its hints out.
func ValueHints(ctx context.Context, w Warehouse, s Schema) map[string]map[string]string {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = map[string]map[string]string{}
	)
	set := func(c, f, hint string) {
		mu.Lock()
		defer mu.Unlock()
		if out[c] == nil {
			out[c] = map[string]string{}
		}
		out[c][f] = hint
	}
	for _, c := range s.Collections {
		var metrics []Metric
		for _, f := range c.Fields {
			switch f.Type {
			case TypeNumber, TypeInt:
				metrics = append(metrics, Metric{Op: MetricMin, Field: f.Name}, Metric{Op: MetricMax, Field: f.Name})
			case TypeDate:
				wg.Go(hint(func() {
					first, err1 := w.Query(ctx, Query{Collection: c.Name, Fields: []string{f.Name}, Sort: []Sort{{Field: f.Name}}, Limit: 1})
					last, err2 := w.Query(ctx, Query{Collection: c.Name, Fields: []string{f.Name}, Sort: []Sort{{Field: f.Name, Desc: true}}, Limit: 1})
					if err1 == nil && err2 == nil && len(first.Rows) == 1 && len(last.Rows) == 1 && first.Rows[0][0] != nil {
						set(c.Name, f.Name, fmt.Sprintf("from %v to %v", first.Rows[0][0], last.Rows[0][0]))
					}
				}))
			case TypeText:
				wg.Go(hint(func() {
					t, err := w.Aggregate(ctx, Aggregation{Collection: c.Name, GroupBy: f.Name, Metrics: []Metric{{Op: MetricCount}},
						Sort: []Sort{{Field: "count", Desc: true}}, Limit: hintValues})
					if err != nil || len(t.Rows) == 0 {
						return
					}
					values := make([]string, len(t.Rows))
					for i, r := range t.Rows {
						values[i] = fmt.Sprint(r[0])
					}
					if t.TotalRows <= hintValues {
						slices.Sort(values)
						set(c.Name, f.Name, "one of "+strings.Join(values, ", "))
					} else {
						set(c.Name, f.Name, fmt.Sprintf("%d values, such as %s", t.TotalRows, strings.Join(values, ", ")))
					}
				}))
			}
		}
		if len(metrics) > 0 {
			wg.Go(hint(func() {
				t, err := w.Aggregate(ctx, Aggregation{Collection: c.Name, Metrics: metrics})
				if err != nil || len(t.Rows) != 1 {
					return
				}
				for i := 0; i+1 < len(metrics); i += 2 {
					lo, hi := t.Rows[0][i], t.Rows[0][i+1]
					if lo != nil && hi != nil {
						set(c.Name, metrics[i].Field, "from "+hintNumber(lo)+" to "+hintNumber(hi))
					}
				}
			}))
		}
	}
	wg.Wait()
	return out
}

// hint runs fn so that a panic in an adapter only loses a hint, as the
// hints are an aid, never needed for the turn.
func hint(fn func()) func() {
	return func() {
		defer func() { _ = recover() }()
		fn()
	}
}

func hintNumber(v any) string {
	if n, ok := v.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	f, _ := AsFloat(v)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// fieldNotes renders what the prompt says of field f: its description,
// then its value hint, each only while the prompt's notes stay within
// *left estimated tokens.
func fieldNotes(f Field, hint string, left *int) string {
	var notes []string
	for _, n := range []string{f.Description, hint} {
		if n == "" {
			continue
		}
		cost := EstimateTokens(n) + 2
		if cost > *left {
			continue
		}
		*left -= cost
		notes = append(notes, n)
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

// hintTTL is how long an agent reuses the value hints it computed: they
// cost a scan of every field, too much for every turn, and data that
// changes shows in them within minutes (as Weaviate's schema does).
const hintTTL = 5 * time.Minute

// hintCache holds an agent's value hints. The first turn after they expire
// computes them while the others wait for it, so a burst of turns costs
// one computation. Safe for concurrent use.
type hintCache struct {
	mu    sync.Mutex
	at    time.Time
	hints map[string]map[string]string
	// gen counts the computations, so the prompt built from one set of
	// hints can tell it is still current.
	gen uint64
}

// get returns the hints for s and their generation, computing them when
// they are older than hintTTL. The computation does not end with the
// asking turn (another turn may be waiting for it) but is bounded by
// hintTimeout.
func (h *hintCache) get(ctx context.Context, w Warehouse, s Schema) (map[string]map[string]string, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hints != nil && time.Since(h.at) < hintTTL {
		return h.hints, h.gen
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hintTimeout)
	defer cancel()
	h.hints, h.at = ValueHints(ctx, w, s), time.Now()
	h.gen++
	return h.hints, h.gen
}

// hintTimeout bounds one computation of the hints.
const hintTimeout = 5 * time.Second
