package embedded

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// Jobs is chat.Jobs and chat.Idempotency in process memory: queued turns
// and idempotency keys of local runs, lost when the process exits.
type Jobs struct {
	now func() time.Time

	mu   sync.Mutex
	jobs map[[2]string]chat.JobRecord         // user, job id
	keys map[[2]string]chat.IdempotencyRecord // user, key
}

var (
	_ chat.Jobs        = (*Jobs)(nil)
	_ chat.Idempotency = (*Jobs)(nil)
)

// NewJobs returns an empty store on the clock now (time.Now when nil).
func NewJobs(now func() time.Time) *Jobs {
	if now == nil {
		now = time.Now
	}
	return &Jobs{now: now, jobs: map[[2]string]chat.JobRecord{}, keys: map[[2]string]chat.IdempotencyRecord{}}
}

// copyJob keeps callers from sharing the stored record's slices.
func copyJob(j chat.JobRecord) chat.JobRecord {
	j.Events = slices.Clone(j.Events)
	j.Result = slices.Clone(j.Result)
	return j
}

func jobNotFound(id string) error { return chat.Errorf(chat.CodeNotFound, "job %q not found", id) }

// CreateJob implements chat.Jobs.
func (m *Jobs) CreateJob(_ context.Context, j chat.JobRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{j.UserID, j.ID}
	if _, ok := m.jobs[k]; ok {
		return chat.Errorf(chat.CodeConflict, "job %q exists", j.ID)
	}
	j.Status, j.Attempt = chat.JobQueued, 0
	m.jobs[k] = copyJob(j)
	return nil
}

// Job implements chat.Jobs.
func (m *Jobs) Job(_ context.Context, userID, jobID string) (chat.JobRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[[2]string{userID, jobID}]
	if !ok {
		return chat.JobRecord{}, jobNotFound(jobID)
	}
	return copyJob(j), nil
}

// ClaimJob implements chat.Jobs.
func (m *Jobs) ClaimJob(_ context.Context, userID, jobID string, leaseUntil time.Time) (chat.JobRecord, error) {
	now := m.now()
	if !leaseUntil.After(now) {
		return chat.JobRecord{}, chat.Errorf(chat.CodeDeadline, "no time left to run job %q", jobID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{userID, jobID}
	j, ok := m.jobs[k]
	switch {
	case !ok:
		return chat.JobRecord{}, jobNotFound(jobID)
	case j.Status.Done():
		return copyJob(j), nil
	case j.Status == chat.JobRunning && j.LeaseUntil.After(now):
		return chat.JobRecord{}, chat.Errorf(chat.CodeConflict, "job %q is running (attempt %d) until %s", jobID, j.Attempt, j.LeaseUntil.Format(time.RFC3339))
	}
	j.Status, j.Attempt, j.LeaseUntil, j.UpdatedAt = chat.JobRunning, j.Attempt+1, leaseUntil, now
	m.jobs[k] = j
	return copyJob(j), nil
}

// UpdateJob implements chat.Jobs.
func (m *Jobs) UpdateJob(_ context.Context, j chat.JobRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{j.UserID, j.ID}
	cur, ok := m.jobs[k]
	if !ok {
		return jobNotFound(j.ID)
	}
	if cur.Attempt != j.Attempt || cur.Status != chat.JobRunning {
		return chat.Errorf(chat.CodeConflict, "job %q was taken over (attempt %d, not %d)", j.ID, cur.Attempt, j.Attempt)
	}
	j.UpdatedAt = m.now()
	m.jobs[k] = copyJob(j)
	return nil
}

// BeginIdempotent implements chat.Idempotency.
func (m *Jobs) BeginIdempotent(_ context.Context, r chat.IdempotencyRecord) (chat.IdempotencyRecord, bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{r.UserID, r.Key}
	if held, ok := m.keys[k]; ok && held.LeaseUntil.After(now) {
		held.Body = slices.Clone(held.Body)
		return held, false, nil
	}
	r.Done = false
	m.keys[k] = r
	return chat.IdempotencyRecord{}, true, nil
}

// CompleteIdempotent implements chat.Idempotency: the answer is kept for
// chat.IdempotencyTTL from now.
func (m *Jobs) CompleteIdempotent(_ context.Context, r chat.IdempotencyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.keys[[2]string{r.UserID, r.Key}]; !ok || cur.Token != r.Token {
		return chat.Errorf(chat.CodeConflict, "idempotency key %q is held by another request now", r.Key)
	}
	r.Done, r.LeaseUntil, r.Body = true, m.now().Add(chat.IdempotencyTTL), slices.Clone(r.Body)
	m.keys[[2]string{r.UserID, r.Key}] = r
	return nil
}

// ReleaseIdempotent implements chat.Idempotency.
func (m *Jobs) ReleaseIdempotent(_ context.Context, userID, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.keys[[2]string{userID, key}]; ok && cur.Token == token {
		delete(m.keys, [2]string{userID, key})
	}
	return nil
}
