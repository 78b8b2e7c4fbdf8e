package openai

import (
	"context"
	"net/http"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/datachat/datachat/shared/chat"
)

// attemptStream makes one streamed request (stream: true, with usage in
// the final chunk), hands each fragment of the answer's text to onText as
// it arrives, and assembles the whole completion with the SDK's
// accumulator, so the result is the same as attempt's.
//
// Text already handed to onText cannot be taken back: a failure after the
// first fragment is never retried, because a second attempt would send
// the client a second, different text. A failure before it is retried
// like any other.
func (m *Model) attemptStream(ctx context.Context, body requestBody, onText func(string)) (chat.ModelResponse, *failure) {
	// body asks for the stream, with usage in the final chunk. As in
	// Chat.Completions.NewStreaming, the response body is the stream.
	var raw, events *http.Response
	err := m.post(ctx, body, &events, &raw)
	stream := ssestream.NewStream[sdk.ChatCompletionChunk](ssestream.NewDecoder(events), err)
	defer stream.Close()

	var acc sdk.ChatCompletionAccumulator
	streamed := false
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			return chat.ModelResponse{}, m.streamFailure(&failure{kind: kindMalformed, retryable: true, detail: "a chunk of the stream does not belong to its completion"}, raw, streamed)
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue // only the first choice is used, as in attempt
			}
			// A refusal is shown as the answer, as in response.
			for _, d := range []string{c.Delta.Content, c.Delta.Refusal} {
				if d != "" {
					onText(d)
					streamed = true
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		return chat.ModelResponse{}, m.streamFailure(classify(ctx, err, raw), raw, streamed)
	}
	if len(acc.Choices) > 0 && acc.Choices[0].FinishReason == "" {
		// The body ended cleanly but before the model finished: a proxy
		// or the provider cut the stream.
		return chat.ModelResponse{}, m.streamFailure(&failure{kind: kindTruncated, retryable: true, detail: "the stream ended before a finish_reason"}, raw, streamed)
	}
	resp, f := response(fromAccumulated(&acc.ChatCompletion))
	if f != nil {
		return chat.ModelResponse{}, m.streamFailure(f, raw, streamed)
	}
	return resp, nil
}

// streamFailure completes f with the response's request id and makes it
// final once text went out.
func (m *Model) streamFailure(f *failure, raw *http.Response, streamed bool) *failure {
	if f.requestID == "" && raw != nil {
		f.requestID = requestID(raw.Header)
	}
	if streamed {
		f.retryable = false
		f.detail += " (after part of the answer was streamed, so not retried)"
	}
	return f
}
