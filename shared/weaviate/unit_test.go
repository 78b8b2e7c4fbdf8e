package weaviate

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/weaviate/weaviate/entities/models"

	"github.com/datachat/datachat/shared/chat"
)

func TestCheckText(t *testing.T) {
	for _, s := range []string{`say "hi"`, `back\slash`, "new\nline", "tab\t", "\r\b\f", "{}[]()", "ÄÖÜ € 日本語 📈", "\u00ad soft hyphen", ""} {
		if err := checkText("f", s); err != nil {
			t.Errorf("checkText(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range []string{"\x00", "a\x07", "\v", "\x1b[31m", "\x7f", "\xff", "\U000E0001"} {
		if err := checkText("f", s); chat.ErrorCode(err) != chat.CodeInvalid {
			t.Errorf("checkText(%q) = %v, want invalid", s, err)
		}
	}
}

func TestBuildSchema(t *testing.T) {
	no := false
	classes := []*models.Class{
		{Class: "Zeta", Vectorizer: "none", Properties: []*models.Property{
			{Name: "title", DataType: []string{"text"}, Tokenization: "word", Description: "the title"},
			{Name: "code", DataType: []string{"text"}, Tokenization: "field"},
			{Name: "old", DataType: []string{"string"}},
			{Name: "n", DataType: []string{"int"}, IndexFilterable: &no},
			{Name: "x", DataType: []string{"number"}},
			{Name: "d", DataType: []string{"date"}},
			{Name: "b", DataType: []string{"boolean"}},
			{Name: "tags", DataType: []string{"text[]"}},
			{Name: "id2", DataType: []string{"uuid"}},
			{Name: "author", DataType: []string{"Person"}},
			{Name: "meta", DataType: []string{"object"}},
		}},
		{Class: "Alpha", Vectorizer: "text2vec-openai", Description: "first"},
		{Class: "Tenants", MultiTenancyConfig: &models.MultiTenancyConfig{Enabled: true}},
		{Class: "Named", VectorConfig: map[string]models.VectorConfig{
			"b": {Vectorizer: map[string]any{"text2vec-cohere": map[string]any{}}},
			"a": {Vectorizer: map[string]any{"text2vec-openai": map[string]any{}}},
			"z": {Vectorizer: map[string]any{"none": map[string]any{}}},
		}},
		{Class: "Hidden"},
	}
	d := buildSchema(classes, map[string]bool{"Zeta": true, "Alpha": true, "Tenants": true, "Named": true})
	if got := d.schema.Names(); !slices.Equal(got, []string{"Alpha", "Named", "Zeta"}) {
		t.Fatalf("names = %v, want Alpha, Named, Zeta (sorted, allowed, not multi-tenant)", got)
	}
	z, _ := d.schema.Collection("Zeta")
	var types []string
	for _, f := range z.Fields {
		types = append(types, f.Name+":"+string(f.Type))
	}
	if want := []string{"title:text", "code:text", "old:text", "n:int", "x:number", "d:date", "b:boolean"}; !slices.Equal(types, want) {
		t.Errorf("fields = %v, want %v", types, want)
	}
	if !strings.Contains(z.Description, "tags (text[]), id2 (uuid), author (Person), meta (object)") {
		t.Errorf("description = %q, want the skipped fields named", z.Description)
	}
	if f, _ := z.Field("title"); f.Description != "the title (eq and like match single words (tokenization word))" {
		t.Errorf("title description = %q", f.Description)
	}
	if f, _ := z.Field("code"); f.Description != "" {
		t.Errorf("code description = %q, want none for field tokenization", f.Description)
	}
	if f, _ := z.Field("n"); !strings.Contains(f.Description, "not indexed for filters") || d.info["Zeta"].props["n"].filterable {
		t.Errorf("n: %q, filterable %v; want it marked as not filterable", f.Description, d.info["Zeta"].props["n"].filterable)
	}
	if !d.info["Zeta"].props["code"].searchable || d.info["Zeta"].props["x"].searchable {
		t.Errorf("searchable: text fields should be, numbers not")
	}
	if z.Vectorizer {
		t.Errorf("Zeta has vectorizer none")
	}
	if a, _ := d.schema.Collection("Alpha"); !a.Vectorizer || a.Description != "first" {
		t.Errorf("Alpha = %+v, want a vectorizer and its description", a)
	}
	if n, _ := d.schema.Collection("Named"); !n.Vectorizer || !slices.Equal(d.info["Named"].targetVectors, []string{"a", "b"}) {
		t.Errorf("Named: vectorizer %v, target vectors %v, want true and [a b]", n.Vectorizer, d.info["Named"].targetVectors)
	}
	if all := buildSchema(classes, nil); len(all.schema.Collections) != 4 {
		t.Errorf("no allow-list: %v, want every single-tenant collection", all.schema.Names())
	}
}

func TestParseGroupValue(t *testing.T) {
	cases := []struct {
		t    chat.Type
		in   string
		want any
	}{
		{chat.TypeText, "AAPL", "AAPL"},
		{chat.TypeInt, "2008", int64(2008)},
		{chat.TypeInt, "1.234567890123e+12", int64(1234567890123)},
		{chat.TypeInt, "-5", int64(-5)},
		{chat.TypeBoolean, "true", true},
		{chat.TypeDate, "2008-09-29T00:00:00Z", "2008-09-29"},
		{chat.TypeDate, "2008-09-29T12:30:00+02:00", "2008-09-29T10:30:00Z"},
	}
	for _, c := range cases {
		got, err := parseGroupValue(c.t, c.in)
		if err != nil || got != c.want {
			t.Errorf("parseGroupValue(%s, %q) = %v, %v; want %v", c.t, c.in, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		t  chat.Type
		in string
	}{{chat.TypeInt, "1.5"}, {chat.TypeInt, "x"}, {chat.TypeDate, "yesterday"}, {chat.TypeBoolean, "yes"}} {
		if _, err := parseGroupValue(bad.t, bad.in); err == nil {
			t.Errorf("parseGroupValue(%s, %q) succeeded, want an error", bad.t, bad.in)
		}
	}
}

func TestMetricCell(t *testing.T) {
	c := chat.Collection{Fields: []chat.Field{{Name: "i", Type: chat.TypeInt}, {Name: "x", Type: chat.TypeNumber}}}
	f := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	big := int64(1)<<53 - 1
	ints := propStats{Count: n(2), Mean: f(1.5), IntMin: n(1), IntMax: n(big), IntSum: n(big + 1)}
	nums := propStats{Count: n(2), Mean: f(1.5), Minimum: f(1), Maximum: f(2), Sum: f(3)}
	cases := []struct {
		m    chat.Metric
		s    propStats
		want any
	}{
		{chat.Metric{Op: chat.MetricMean, Field: "i"}, ints, 1.5},
		{chat.Metric{Op: chat.MetricSum, Field: "i"}, ints, big + 1},
		{chat.Metric{Op: chat.MetricMin, Field: "i"}, ints, int64(1)},
		{chat.Metric{Op: chat.MetricMax, Field: "i"}, ints, big},
		{chat.Metric{Op: chat.MetricMax, Field: "x"}, nums, 2.0},
		{chat.Metric{Op: chat.MetricSum, Field: "x"}, nums, 3.0},
		{chat.Metric{Op: chat.MetricMean, Field: "x"}, propStats{Count: n(0)}, nil},
		{chat.Metric{Op: chat.MetricSum, Field: "x"}, propStats{}, nil},
		{chat.Metric{Op: chat.MetricSum, Field: "i"}, propStats{Count: n(1)}, nil},
	}
	for _, tc := range cases {
		if got := metricCell(c, tc.m, tc.s); got != tc.want {
			t.Errorf("%s(%s) = %v; want %v", tc.m.Op, tc.m.Field, got, tc.want)
		}
	}
}

func TestGRPCTarget(t *testing.T) {
	for _, tc := range []struct {
		rest, override, addr string
		tls                  bool
	}{
		{"http://127.0.0.1:8080", "", "127.0.0.1:50051", false},
		{"http://weaviate.internal:8080", "", "weaviate.internal:50051", false},
		{"https://my-cluster.c0.europe-west3.gcp.weaviate.cloud", "", "grpc-my-cluster.c0.europe-west3.gcp.weaviate.cloud:443", true},
		{"https://old.weaviate.network", "", "grpc-old.weaviate.network:443", true},
		{"https://weaviate.example.com", "", "weaviate.example.com:50051", true},
		{"https://localhost:8443", "", "localhost:50051", false},
		{"http://127.0.0.1:8080", "127.0.0.1:41000", "127.0.0.1:41000", false},
		{"https://weaviate.example.com", "grpc.example.com:8443", "grpc.example.com:8443", true},
		{"https://weaviate.example.com", "[::1]:9000", "[::1]:9000", false},
		{"http://weaviate.example.com", "grpc.example.com:9000", "grpc.example.com:9000", false},
		{"http://127.0.0.1:8080", "https://grpc.example.com", "grpc.example.com:443", true},
		{"https://x.weaviate.cloud", "http://10.0.0.5", "10.0.0.5:50051", false},
		{"http://127.0.0.1:8080", "https://127.0.0.1:7000/", "127.0.0.1:7000", true},
	} {
		u, _ := url.Parse(tc.rest)
		got, err := grpcTarget(u, tc.override)
		if err != nil || got.addr != tc.addr || got.tls != tc.tls {
			t.Errorf("grpcTarget(%s, %q) = %+v, %v; want %s tls=%v", tc.rest, tc.override, got, err, tc.addr, tc.tls)
		}
	}
	u, _ := url.Parse("http://127.0.0.1:8080")
	for _, bad := range []string{"grpc.example.com", "ftp://x:1", "https://", "https://x/path", "x:0", "x:port", ":50051"} {
		if got, err := grpcTarget(u, bad); err == nil {
			t.Errorf("grpcTarget(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestNewOptions(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "http://host/v1"} {
		if _, err := New(Options{URL: bad}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", bad)
		}
	}
	if _, err := New(Options{URL: "http://127.0.0.1:8080", GRPCURL: "no-port"}); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("New with a gRPC URL without a port: %v, want an error saying host:port", err)
	}
	w, err := New(Options{URL: "https://example.invalid", Collections: []string{" A ", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if w.timeout != DefaultTimeout || w.rowCap != DefaultRowCap || w.cache.ttl != DefaultSchemaTTL || w.maxGroups != DefaultMaxGroups {
		t.Errorf("defaults not applied: %+v", w)
	}
	if len(w.allowed) != 1 || !w.allowed["A"] {
		t.Errorf("allow-list = %v, want only A", w.allowed)
	}
}
