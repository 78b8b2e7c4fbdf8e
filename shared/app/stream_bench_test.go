package app_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat/chattest"
)

// BenchmarkStreamLatency measures, for the eight question shapes of the
// README, how long a client waits for the first event, the first word of
// the answer and RUN_FINISHED, with a model that takes 1 s per request,
// reached through the OpenAI adapter over real HTTP. It reports medians:
//
//	go test -run '^$' -bench StreamLatency -benchtime 5x ./shared/app/
func BenchmarkStreamLatency(b *testing.B) {
	_, base := openAIApp(b, chattest.Pace{Think: time.Second}, nil)
	tok := tokenFor(b, "bench")
	for _, c := range []struct{ shape, q, before string }{
		{"metric", "What was the average closing price of the S&P 500 in 2008?", ""},
		{"extreme", "Which day had the highest trading volume in 2010?", ""},
		{"series", "Plot the S&P 500 close from 2007 to 2009", ""},
		{"comparison", "Compare AAPL and MSFT since 2005", ""},
		{"grouping", "Average price by symbol", ""},
		{"top-N", "Top 5 months for AMZN by price", ""},
		{"follow-up", "And in 2009?", "What was the average closing price of the S&P 500 in 2008?"},
		{"other", "hello", ""},
	} {
		b.Run(c.shape, func(b *testing.B) {
			conv := ""
			if c.before != "" {
				events, _ := streamAsk(b, http.DefaultClient, base, tok, c.before, "")
				conv = events[0].data["threadId"].(string)
			}
			var first, text, done []time.Duration
			for b.Loop() {
				start := time.Now()
				resp := openStream(b, context.Background(), http.DefaultClient, base, tok, c.q, conv)
				rd := &sseReader{t: b, br: bufio.NewReader(resp.Body)}
				sawText := false
				for {
					m, err := rd.next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					switch {
					case m.comment != "":
					case len(first) < len(done)+1:
						first = append(first, time.Since(start))
						fallthrough
					default:
						if m.typ() == "TEXT_MESSAGE_CONTENT" && !sawText {
							sawText = true
							text = append(text, time.Since(start))
						}
						if m.typ() == "RUN_FINISHED" {
							done = append(done, time.Since(start))
						}
					}
				}
				resp.Body.Close()
			}
			b.ReportMetric(median(first).Seconds()*1000, "ms/first-event")
			b.ReportMetric(median(text).Seconds()*1000, "ms/first-text")
			b.ReportMetric(median(done).Seconds()*1000, "ms/finished")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
