package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// IdempotencyKeyHeader names the header of a retried request (the IETF
// httpapi draft's name).
const IdempotencyKeyHeader = "Idempotency-Key"

// idemKey is the Idempotency-Key of one request, once it holds the key.
type idemKey struct {
	rec      chat.IdempotencyRecord
	replayed bool // the request was answered from the record: nothing else to do
}

// beginKey takes the request's Idempotency-Key, when it has one. A key
// already answered answers the request again with the first answer's
// status and bytes (replayed); a key used with another body is 422; a key
// whose request still runs is 409 with Retry-After. A request with no key
// costs nothing here.
func (s *server) beginKey(w http.ResponseWriter, r *http.Request, user string, req chatRequest, async bool) (idemKey, error) {
	raw, ok := r.Header[IdempotencyKeyHeader]
	if !ok {
		return idemKey{}, nil
	}
	key, err := parseIdempotencyKey(raw)
	if err != nil {
		return idemKey{}, err
	}
	if s.Idempotency == nil {
		return idemKey{}, chat.Errorf(chat.CodeInvalid, "this server keeps no idempotency keys; send the request without %s", IdempotencyKeyHeader)
	}
	lease := s.Now().Add(s.keyLease(r, async))
	rec := chat.IdempotencyRecord{UserID: user, Key: key, RequestHash: requestHash(req), Token: s.NewID(), LeaseUntil: lease}
	held, began, err := s.Idempotency.BeginIdempotent(r.Context(), rec)
	switch {
	case err != nil:
		return idemKey{}, err
	case began:
		return idemKey{rec: rec}, nil
	case held.RequestHash != rec.RequestHash:
		return idemKey{}, chat.Errorf(chat.CodeKeyReused, "%s %q was used with a different body; send a new key for a new question", IdempotencyKeyHeader, key)
	case !held.Done:
		wait := int(math.Ceil(held.LeaseUntil.Sub(s.Now()).Seconds()))
		return idemKey{}, &chat.Error{Code: chat.CodeConflict, RetryAfter: max(1, min(wait, 30)),
			Message: "the request with this " + IdempotencyKeyHeader + " is still being answered; try again shortly for its answer"}
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if held.Status == http.StatusAccepted {
		var job jobAccepted
		if json.Unmarshal(held.Body, &job) == nil && job.JobID != "" {
			w.Header().Set("Location", jobPath(job.JobID))
		}
	}
	writeBody(w, held.Status, held.Body)
	return idemKey{replayed: true}, nil
}

// keyLease is how long the first request of a key may hold it: as long
// as its turn may run and be stored, with room for reading the history and
// the limits before it, or for a queued turn until its job is queued. A
// request that dies frees the key when the lease ends; one that overran
// it can no longer complete or release a key another request took since.
func (s *server) keyLease(r *http.Request, async bool) time.Duration {
	const slack = 10 * time.Second
	switch {
	case async:
		return time.Minute
	case wantsStream(r):
		return s.deadlineWithin(r, s.StreamTurnTimeout).Sub(s.Now()) + s.SaveReserve + slack
	}
	return s.turnDeadline(r).Sub(s.Now()) + s.SaveReserve + slack
}

// completeKey keeps the answer for the key's later requests. A failure is
// logged, not returned: the answer is already decided, and a retry then
// runs the turn again rather than getting it.
func (s *server) completeKey(r *http.Request, key idemKey, status int, body []byte) {
	if key.rec.Key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.SaveReserve)
	defer cancel()
	key.rec.Status, key.rec.Body = status, body
	if err := s.Idempotency.CompleteIdempotent(ctx, key.rec); err != nil {
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "the answer of an idempotency key was not kept", slog.String("error", err.Error()))
	}
}

// releaseKey forgets the key of a request that failed, so its retry runs.
func (s *server) releaseKey(r *http.Request, key idemKey) {
	if key.rec.Key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.SaveReserve)
	defer cancel()
	if err := s.Idempotency.ReleaseIdempotent(ctx, key.rec.UserID, key.rec.Key, key.rec.Token); err != nil {
		s.Logger.LogAttrs(r.Context(), slog.LevelWarn, "an idempotency key was not released; it frees itself when its lease ends", slog.String("error", err.Error()))
	}
}

// parseIdempotencyKey accepts one key of 1 to 255 visible ASCII
// characters, bare or as a structured-field string ("...").
func parseIdempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", chat.Errorf(chat.CodeInvalid, "send one %s header, not %d", IdempotencyKeyHeader, len(values))
	}
	k := strings.TrimSpace(values[0])
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if k == "" || len(k) > 255 {
		return "", chat.Errorf(chat.CodeInvalid, "%s must be 1 to 255 characters, such as a UUID", IdempotencyKeyHeader)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e || k[i] == '"' {
			return "", chat.Errorf(chat.CodeInvalid, "%s may hold only visible ASCII characters (no spaces or quotes), such as a UUID", IdempotencyKeyHeader)
		}
	}
	return k, nil
}

// requestHash identifies a request's body by its fields, so a retry that
// encodes the same question differently (spacing, escapes) is the same
// request.
func requestHash(req chatRequest) string {
	sum := sha256.Sum256([]byte(strconv.Quote(req.Message) + "\x00" + req.ConversationID))
	return hex.EncodeToString(sum[:])
}

// prefersAsync reports whether the client asked to be answered later
// (RFC 7240's Prefer: respond-async).
func prefersAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(pref), ";")
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				return true
			}
		}
	}
	return false
}
