package weaviate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"

	"github.com/datachat/datachat/shared/chat"
)

// Weaviate's GraphQL Get types int properties as GraphQL Int, which the
// GraphQL spec limits to 32 bits: any value beyond ±2^31 comes back as null
// (weaviate/weaviate#1563). Trading volumes, timestamps and ids routinely
// exceed that. Aggregate statistics are Floats and carry such values
// exactly up to 2^53, so the null cells of int columns are filled from one
// Aggregate request that sums each affected object's int properties, one
// aliased sub-query per object filtered by its id. Only rows with a null
// int cell pay for it, and a count of 0 tells a real null from an overflow.
// Moving queries to the gRPC API removes the need for this.

// bigIntChunk bounds the sub-queries of one request, bigIntParallel the
// requests in flight at once.
const (
	bigIntChunk    = 64
	bigIntParallel = 4
)

// graphQLName matches the names Weaviate allows for collections and
// properties, which are also valid GraphQL names; anything else is never
// put into a query.
var graphQLName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fillBigInts replaces the null int cells of t with the stored values.
func (w *Warehouse) fillBigInts(ctx context.Context, op, collection string, t *chat.Table) error {
	var ints []int
	for i, c := range t.Columns {
		if c.Type == chat.TypeInt && graphQLName.MatchString(c.Name) {
			ints = append(ints, i)
		}
	}
	if len(ints) == 0 || !graphQLName.MatchString(collection) {
		return nil
	}
	var rows []int
	for r, row := range t.Rows {
		if _, err := uuid.Parse(t.Sources[r].ID); err != nil {
			continue
		}
		for _, i := range ints {
			if row[i] == nil {
				rows = append(rows, r)
				break
			}
		}
	}
	// Chunks run side by side: Weaviate resolves the sub-queries of one
	// request one after another, so a few smaller requests finish sooner.
	// Each chunk writes only its own rows.
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, bigIntParallel)
		errs = make([]error, (len(rows)+bigIntChunk-1)/bigIntChunk)
	)
	for k := range errs {
		lo := k * bigIntChunk
		chunk := rows[lo:min(lo+bigIntChunk, len(rows))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[k] = w.fillBigIntChunk(ctx, op, collection, t, ints, chunk)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (w *Warehouse) fillBigIntChunk(ctx context.Context, op, collection string, t *chat.Table, ints, rows []int) error {
	var stats strings.Builder
	for _, i := range ints {
		fmt.Fprintf(&stats, "%s{count sum} ", t.Columns[i].Name)
	}
	var q strings.Builder
	q.WriteString("{Aggregate{")
	for k, r := range rows {
		// The filter text is the client's own rendering of a typed filter
		// on an id that uuid.Parse accepted; names matched graphQLName.
		where := filters.Where().WithPath([]string{"id"}).WithOperator(filters.Equal).WithValueText(t.Sources[r].ID)
		fmt.Fprintf(&q, "r%d: %s(%s){%s} ", k, collection, where.String(), stats.String())
	}
	q.WriteString("}}")

	var answer map[string][]map[string]propStats
	err := w.call(ctx, op, collection, func(ctx context.Context) error {
		resp, err := w.client.GraphQL().Raw().WithQuery(q.String()).Do(ctx)
		if err != nil {
			return err
		}
		if err := w.graphQLError(resp); err != nil {
			return err
		}
		raw, err := json.Marshal(resp.Data["Aggregate"])
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &answer)
	})
	if err != nil {
		return err
	}
	for k, r := range rows {
		res := answer[fmt.Sprintf("r%d", k)]
		if len(res) != 1 {
			return w.translate(ctx, ctx, op, collection, fmt.Errorf("int values of %s: %d results", t.Sources[r].ID, len(res)))
		}
		for _, i := range ints {
			if t.Rows[r][i] != nil {
				continue
			}
			s := res[0][t.Columns[i].Name]
			if s.Count == nil || *s.Count == 0 || s.Sum == nil {
				continue // a real null
			}
			v, err := toInt(*s.Sum)
			if err != nil {
				return w.translate(ctx, ctx, op, collection, err)
			}
			t.Rows[r][i] = v
		}
	}
	return nil
}
