package openai

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{nil, 0, false},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second, true},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond, true},
		{map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)}, 7 * time.Second, true},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0, true},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"Retry-After": "-1"}, 0, false},
		// OpenAI's finer header wins over the coarse one.
		{map[string]string{"Retry-After": "1", "retry-after-ms": "250"}, 250 * time.Millisecond, true},
		{map[string]string{"Retry-After": "2", "retry-after-ms": "x"}, 2 * time.Second, true},
	} {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%v) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	m := &Model{retryBase: 100 * time.Millisecond}
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 10: maxBackoff, 80: maxBackoff} {
		for range 200 {
			if d := m.backoff(attempt); d < 0 || d >= ceiling {
				t.Fatalf("backoff(%d) = %v, want in [0, %v)", attempt, d, ceiling)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	r := redactor{key: "custom-key-without-prefix"}
	for in, want := range map[string]string{
		"key custom-key-without-prefix refused":                       "key [redacted] refused",
		"Incorrect API key provided: sk-proj-abc***************wxyz.": "Incorrect API key provided: [redacted]",
		"a task-based plan at risk-free rates":                        "a task-based plan at risk-free rates",
		"(sk-abc)":                                                    "([redacted])",
	} {
		if got := r.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
