package embedded

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// Memory is an in-process conversation store: the default for local runs.
// Its contents are lost when the process exits.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	users map[string]map[string]*conversation // user -> conversation id -> conversation
}

type conversation struct {
	summary chat.Conversation
	turns   []chat.Turn
}

var (
	_ chat.Memory        = (*Memory)(nil)
	_ chat.Conversations = (*Memory)(nil)
)

// NewMemory returns an empty store; now stamps turns (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, users: map[string]map[string]*conversation{}}
}

func (m *Memory) find(userID, id string) (*conversation, error) {
	c, ok := m.users[userID][id]
	if !ok {
		return nil, chat.Errorf(chat.CodeNotFound, "conversation %q not found", id)
	}
	return c, nil
}

// History implements chat.Memory.
func (m *Memory) History(_ context.Context, userID, id string, limit int) ([]chat.Turn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.find(userID, id)
	if err != nil {
		return nil, err
	}
	turns := c.turns
	if limit > 0 && len(turns) > limit {
		turns = turns[len(turns)-limit:]
	}
	return slices.Clone(turns), nil
}

// Turns implements chat.Conversations.
func (m *Memory) Turns(ctx context.Context, userID, id string) ([]chat.Turn, error) {
	return m.History(ctx, userID, id, 0)
}

// TurnPage implements chat.Conversations.
func (m *Memory) TurnPage(_ context.Context, userID, id string, after, limit int) ([]chat.Turn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.find(userID, id)
	if err != nil {
		return nil, err
	}
	var out []chat.Turn
	for _, t := range c.turns {
		if t.Seq > after && len(out) < limit {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, chat.Errorf(chat.CodeNotFound, "conversation %q has no turns after %d", id, after)
	}
	return out, nil
}

// Append implements chat.Memory.
func (m *Memory) Append(_ context.Context, t chat.Turn) (chat.Turn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UTC()
	convs := m.users[t.UserID]
	if convs == nil {
		convs = map[string]*conversation{}
		m.users[t.UserID] = convs
	}
	c := convs[t.ConversationID]
	if c == nil && t.Seq > 1 {
		return chat.Turn{}, chat.Gone(t.ConversationID)
	}
	if c == nil {
		c = &conversation{summary: chat.Conversation{ID: t.ConversationID, Title: chat.Title(t.Question), CreatedAt: now}}
		convs[t.ConversationID] = c
	}
	t.Seq = len(c.turns) + 1
	t.CreatedAt = now
	c.turns = append(c.turns, t)
	c.summary.UpdatedAt = now
	c.summary.Turns = len(c.turns)
	return t, nil
}

// List implements chat.Conversations. The cursor is the position after the
// last conversation returned, in the order of (updated desc, id).
func (m *Memory) List(_ context.Context, userID string, limit int, cursor string) ([]chat.Conversation, string, error) {
	m.mu.Lock()
	all := make([]chat.Conversation, 0, len(m.users[userID]))
	for _, c := range m.users[userID] {
		all = append(all, c.summary)
	}
	m.mu.Unlock()
	slices.SortFunc(all, func(a, b chat.Conversation) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	start := 0
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		start = len(all)
		for i, c := range all {
			if c.UpdatedAt.Before(after.UpdatedAt) || (c.UpdatedAt.Equal(after.UpdatedAt) && c.ID > after.ID) {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(all))
	page := all[start:end]
	next := ""
	if end < len(all) && len(page) > 0 {
		next = encodeCursor(page[len(page)-1])
	}
	return page, next, nil
}

func encodeCursor(c chat.Conversation) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.UpdatedAt.UnixNano(), 10) + ":" + c.ID))
}

func decodeCursor(s string) (chat.Conversation, error) {
	bad := chat.Errorf(chat.CodeInvalid, "cursor %q is not one this server returned; pass the next_cursor of the previous page", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return chat.Conversation{}, bad
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return chat.Conversation{}, bad
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return chat.Conversation{}, bad
	}
	return chat.Conversation{ID: id, UpdatedAt: time.Unix(0, ns).UTC()}, nil
}

// Delete implements chat.Conversations.
func (m *Memory) Delete(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.find(userID, id); err != nil {
		return err
	}
	delete(m.users[userID], id)
	return nil
}
