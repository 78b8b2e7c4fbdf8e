package emf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/emf"
)

var t0 = time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)

func TestDocumentFollowsTheSpecification(t *testing.T) {
	d := emf.Document{
		Time:       t0,
		Properties: map[string]any{"request_id": "r-1"},
		Directives: []emf.Directive{{
			Namespace:  "DataChat",
			Dimensions: map[string]string{"Route": "POST /chat", "Model": "m"},
			Metrics:    []emf.Metric{{Name: "TurnLatency", Unit: emf.Milliseconds, Values: []float64{12.5}}, {Name: "ModelLatency", Unit: emf.Milliseconds, Values: []float64{1, 2}}},
		}},
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"Model":"m","ModelLatency":[1,2],"Route":"POST /chat","TurnLatency":12.5,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Model","Route"]],"Metrics":[{"Name":"TurnLatency","Unit":"Milliseconds"},{"Name":"ModelLatency","Unit":"Milliseconds"}],"Namespace":"DataChat"}],"Timestamp":1796158800000},"request_id":"r-1"}`
	if canon, _ := json.Marshal(got); string(canon) != want {
		t.Errorf("got  %s\nwant %s", canon, want)
	}
	if err := emf.Validate(b); err != nil {
		t.Error(err)
	}
}

func TestMarshalRefusesWhatTheSpecificationForbids(t *testing.T) {
	metrics := func(n int) []emf.Metric {
		out := make([]emf.Metric, n)
		for i := range out {
			out[i] = emf.Metric{Name: fmt.Sprintf("M%d", i), Unit: emf.Count, Values: []float64{1}}
		}
		return out
	}
	dims := func(n int) map[string]string {
		out := map[string]string{}
		for i := range n {
			out[fmt.Sprintf("D%d", i)] = "v"
		}
		return out
	}
	values := make([]float64, emf.MaxValuesPerMetric+1)
	cases := []struct {
		name string
		dir  emf.Directive
		ok   bool
	}{
		{"100 metrics", emf.Directive{Namespace: "N", Metrics: metrics(100)}, true},
		{"101 metrics", emf.Directive{Namespace: "N", Metrics: metrics(101)}, false},
		{"30 dimensions", emf.Directive{Namespace: "N", Dimensions: dims(30), Metrics: metrics(1)}, true},
		{"31 dimensions", emf.Directive{Namespace: "N", Dimensions: dims(31), Metrics: metrics(1)}, false},
		{"101 values", emf.Directive{Namespace: "N", Metrics: []emf.Metric{{Name: "M", Values: values}}}, false},
		{"no namespace", emf.Directive{Metrics: metrics(1)}, false},
		{"AWS namespace", emf.Directive{Namespace: "AWS/Lambda", Metrics: metrics(1)}, false},
		{"empty dimension value", emf.Directive{Namespace: "N", Dimensions: map[string]string{"Tool": ""}, Metrics: metrics(1)}, false},
		{"unknown unit", emf.Directive{Namespace: "N", Metrics: []emf.Metric{{Name: "M", Unit: "Furlongs", Values: []float64{1}}}}, false},
		{"no value", emf.Directive{Namespace: "N", Metrics: []emf.Metric{{Name: "M"}}}, false},
		{"long metric name", emf.Directive{Namespace: "N", Metrics: []emf.Metric{{Name: strings.Repeat("m", 1025), Values: []float64{1}}}}, false},
	}
	for _, tc := range cases {
		_, err := emf.Document{Time: t0, Directives: []emf.Directive{tc.dir}}.Marshal()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Marshal error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestValidateRejectsBrokenLines(t *testing.T) {
	cases := map[string]string{
		"not JSON":          `_aws`,
		"no _aws":           `{"M":1}`,
		"no timestamp":      `{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1}`,
		"no directive":      `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`,
		"missing member":    `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]}}`,
		"string value":      `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"1"}`,
		"numeric dimension": `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"M":1,"D":3}`,
		"no dimensions":     `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"M"}]}]},"M":1}`,
		"bad resolution":    `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","StorageResolution":5}]}]},"M":1}`,
	}
	for name, line := range cases {
		if err := emf.Validate([]byte(line)); err == nil {
			t.Errorf("%s: Validate accepted %s", name, line)
		}
	}
	good := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count","StorageResolution":1}]}]},"M":[1,2],"D":"x"}`
	if err := emf.Validate([]byte(good)); err != nil {
		t.Errorf("Validate rejected a valid line: %v", err)
	}
}

func TestWriterWritesOneLinePerDocument(t *testing.T) {
	var buf bytes.Buffer
	w := emf.NewWriter(&buf)
	d := emf.Document{Time: t0, Directives: []emf.Directive{{Namespace: "N", Metrics: []emf.Metric{{Name: "M", Unit: emf.Count, Values: []float64{1}}}}}}
	for range 3 {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("got %d lines, want 3:\n%s", n, buf.String())
	}
	if err := w.Write(emf.Document{Time: t0}); err == nil {
		t.Error("a document without directives was written")
	}
}
