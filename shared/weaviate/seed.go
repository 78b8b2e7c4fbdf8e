package weaviate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-openapi/strfmt"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/sample"
)

// seedBatch is how many objects one batch request carries: large enough to
// load the sample in a few requests, small enough to finish well within
// the per-call timeout.
const seedBatch = 1000

// Seed loads datasets into the Weaviate of w: it creates each collection
// that is missing with an explicit schema (no vectorizer; text properties
// tokenized as whole values, so equality is exact and case-sensitive as in
// the embedded warehouse) and imports the rows with batch requests. Objects
// keep the datasets' deterministic ids, so seeding again overwrites the
// same objects rather than adding copies. A collection that exists with an
// incompatible schema is an error, never silently reused. One line per
// collection goes to progress.
func Seed(ctx context.Context, w *Warehouse, datasets []sample.Dataset, progress io.Writer) error {
	// The schema changes under the cache; discover it afresh afterwards.
	defer w.cache.invalidate()
	for _, d := range datasets {
		name := d.Collection.Name
		if len(d.IDs) != len(d.Rows) {
			return fmt.Errorf("weaviate.Seed %s: %d rows but %d ids", name, len(d.Rows), len(d.IDs))
		}
		start := w.cache.now()
		created, err := ensureClass(ctx, w, d.Collection)
		if err != nil {
			return err
		}
		for lo := 0; lo < len(d.Rows); lo += seedBatch {
			hi := min(lo+seedBatch, len(d.Rows))
			if err := importBatch(ctx, w, d, lo, hi); err != nil {
				return err
			}
		}
		how := "updated"
		if created {
			how = "created"
		}
		fmt.Fprintf(progress, "seeded %s: %d objects (collection %s) in %s\n",
			name, len(d.Rows), how, w.cache.now().Sub(start).Round(1e6))
	}
	return nil
}

// ensureClass creates the collection when it is missing and reports
// whether it did; an existing one must have every field with its type, and
// text fields tokenized as whole values.
func ensureClass(ctx context.Context, w *Warehouse, c chat.Collection) (bool, error) {
	var existing *models.Class
	err := w.call(ctx, "seed", c.Name, func(ctx context.Context) error {
		var err error
		existing, err = w.client.Schema().ClassGetter().WithClassName(c.Name).Do(ctx)
		var fe *fault.WeaviateClientError
		if errors.As(err, &fe) && fe.StatusCode == http.StatusNotFound {
			existing, err = nil, nil
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if existing != nil {
		return false, compatible(existing, c)
	}
	err = w.call(ctx, "seed", c.Name, func(ctx context.Context) error {
		return w.client.Schema().ClassCreator().WithClass(seedClass(c)).Do(ctx)
	})
	return err == nil, err
}

// seedClass is the explicit schema of a sample collection. Range indexes
// make the date and number comparisons the agent asks for cheap.
func seedClass(c chat.Collection) *models.Class {
	yes := true
	cl := &models.Class{Class: c.Name, Description: c.Description, Vectorizer: "none"}
	for _, f := range c.Fields {
		p := &models.Property{Name: f.Name, Description: f.Description, DataType: []string{string(f.Type)}}
		switch f.Type {
		case chat.TypeText:
			p.Tokenization = models.PropertyTokenizationField
		case chat.TypeNumber, chat.TypeInt, chat.TypeDate:
			p.IndexRangeFilters = &yes
		}
		cl.Properties = append(cl.Properties, p)
	}
	return cl
}

func compatible(cl *models.Class, c chat.Collection) error {
	var problems []string
	for _, f := range c.Fields {
		var p *models.Property
		for _, q := range cl.Properties {
			if q != nil && q.Name == f.Name {
				p = q
			}
		}
		switch {
		case p == nil:
			problems = append(problems, f.Name+" is missing")
		case len(p.DataType) != 1 || p.DataType[0] != string(f.Type):
			problems = append(problems, fmt.Sprintf("%s is %v, want %s", f.Name, p.DataType, f.Type))
		case f.Type == chat.TypeText && p.Tokenization != models.PropertyTokenizationField:
			problems = append(problems, fmt.Sprintf("%s has tokenization %q, want %q", f.Name, p.Tokenization, models.PropertyTokenizationField))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("weaviate.Seed %s: the collection exists with another schema (%s); delete it and seed again",
			c.Name, strings.Join(problems, "; "))
	}
	return nil
}

// importBatch writes rows lo..hi of d. A batch answers 200 even when some
// objects failed, so each object's result is checked.
func importBatch(ctx context.Context, w *Warehouse, d sample.Dataset, lo, hi int) error {
	objs := make([]*models.Object, 0, hi-lo)
	for i := lo; i < hi; i++ {
		props := map[string]any{}
		for j, f := range d.Collection.Fields {
			v := d.Rows[i][j]
			if v == nil {
				continue
			}
			if f.Type == chat.TypeDate {
				s, _ := v.(string)
				t, ok := chat.ParseDate(s)
				if !ok {
					return fmt.Errorf("weaviate.Seed %s: row %d: date %v is not YYYY-MM-DD", d.Collection.Name, i, v)
				}
				v = rfc3339(t)
			}
			props[f.Name] = v
		}
		objs = append(objs, &models.Object{Class: d.Collection.Name, ID: strfmt.UUID(d.IDs[i]), Properties: props})
	}
	var res []models.ObjectsGetResponse
	err := w.call(ctx, "seed", d.Collection.Name, func(ctx context.Context) error {
		var err error
		res, err = w.client.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
			return fmt.Errorf("weaviate.Seed %s: object %s: %s", d.Collection.Name, r.ID, r.Result.Errors.Error[0].Message)
		}
	}
	if len(res) != len(objs) {
		return fmt.Errorf("weaviate.Seed %s: batch answered %d results for %d objects", d.Collection.Name, len(res), len(objs))
	}
	return nil
}
