package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func chatEvent(t *testing.T) eventV1 { return loadEvent(t, "chat-stream.json") }

func TestStreamSendsTheHeadBeforeTheHandlerEnds(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "data: first\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release
		io.WriteString(w, "data: last\n\n")
	})
	// streamV1 returns only once the head is sent, while h still waits:
	// the answer is streamed, not collected.
	resp, err := streamV1(context.Background(), h, chatEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "text/event-stream" {
		t.Fatalf("head %d %v", resp.StatusCode, resp.Headers)
	}
	// The prelude and the first event can be read while h is still running.
	var prelude bytes.Buffer
	buf := make([]byte, 1)
	for !bytes.HasSuffix(prelude.Bytes(), []byte("data: first\n\n")) {
		if _, err := resp.Read(buf); err != nil {
			t.Fatalf("read before the handler ended: %v (so far %q)", err, prelude.String())
		}
		prelude.WriteByte(buf[0])
	}
	close(release)
	rest, err := io.ReadAll(resp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeStreamed(append(prelude.Bytes(), rest...))
	if err != nil {
		t.Fatal(err)
	}
	if got.status != 200 || got.body != "data: first\n\ndata: last\n\n" {
		t.Fatalf("got %d %q", got.status, got.body)
	}
}

func TestStreamOfAHandlerThatWritesNothing(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Seen", r.Method+" "+r.URL.Path) })
	resp, err := streamV1(context.Background(), h, chatEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeStreamed(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.status != 200 || got.body != "" || got.headers["X-Seen"] != "POST /chat" {
		t.Fatalf("got %d %v %q", got.status, got.headers, got.body)
	}
}

func TestStreamOfAHandlerThatPanics(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: partial\n\n")
		panic("boom")
	})
	resp, err := streamV1(context.Background(), h, chatEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("reading a stream whose handler panicked: %v, want the panic as an error (so the invocation fails)", err)
	}
}

func TestStreamedRequestCarriesTheEvent(t *testing.T) {
	ev := chatEvent(t)
	var seen struct {
		method, path, accept, body, sub string
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sub, _ := claimsAuth{}.Authenticate(r)
		seen.method, seen.path, seen.accept, seen.body, seen.sub = r.Method, r.URL.Path, r.Header.Get("Accept"), string(b), sub
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"ok": "yes"})
	})
	resp, err := streamV1(context.Background(), h, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp); err != nil {
		t.Fatal(err)
	}
	if seen.method != "POST" || seen.path != "/chat" || seen.accept != "text/event-stream" || seen.body != ev.Body || seen.sub != "alice" {
		t.Fatalf("the handler saw %+v", seen)
	}
}

func TestStreamedRouteIsPostChatOnly(t *testing.T) {
	for _, tc := range []struct {
		method, resource string
		want             bool
	}{
		{"POST", "/chat", true},
		{"GET", "/chat", false},
		{"GET", "/conversations/{id}", false},
		{"POST", "/conversations", false},
		{"GET", "/health", false},
	} {
		if got := streamedRoute(eventV1{HTTPMethod: tc.method, Resource: tc.resource}); got != tc.want {
			t.Errorf("%s %s streamed = %v, want %v", tc.method, tc.resource, got, tc.want)
		}
	}
}
