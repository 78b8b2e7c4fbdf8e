package weaviate_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/weaviate"
)

// TestWarehouseOrder runs the ordering contract (nulls, ties, no sort,
// whole days) the embedded warehouse passes too, on a collection with
// null values created here.
func TestWarehouseOrder(t *testing.T) {
	c := chattest.OrderCollection("")
	var props []map[string]any
	for _, f := range c.Fields {
		p := map[string]any{"name": f.Name, "dataType": []string{string(f.Type)}}
		if f.Type == chat.TypeText {
			p["tokenization"] = "field"
		}
		props = append(props, p)
	}
	var objects []map[string]any
	ids := chattest.OrderIDs()
	for i, r := range chattest.OrderRows() {
		values := map[string]any{}
		for j, f := range c.Fields {
			v := r[j]
			if v == nil {
				continue // a null is a missing property
			}
			if s, ok := v.(string); ok && f.Type == chat.TypeDate && len(s) == len("2006-01-02") {
				v = s + "T00:00:00Z"
			}
			values[f.Name] = v
		}
		objects = append(objects, map[string]any{"id": ids[i], "properties": values})
	}
	name := createCollection(t, "Order", map[string]any{"vectorizer": "none", "properties": props}, objects)
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t), RowCap: 500, Collections: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	chattest.TestWarehouseOrder(t, w, name)
}
