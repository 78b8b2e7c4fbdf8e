// Package emf writes CloudWatch embedded metric format (EMF) documents:
// JSON log lines that CloudWatch Logs turns into metrics, with the
// metrics' values and any other properties at the top level and an _aws
// member saying which members are metrics and what their dimensions are.
//
// The Go module proxy offers no EMF library, so this package is small and
// checks its own output against the specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
// Validate is that check, and the tests run it on everything written.
package emf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits of the specification.
const (
	MaxMetricsPerDirective    = 100  // Metrics of one MetricDirective
	MaxDimensionsPerSet       = 30   // keys of one DimensionSet
	MaxValuesPerMetric        = 100  // values of one metric member (an array)
	MaxNameLength             = 1024 // metric names, dimension names and values, namespaces
	MaxDocumentBytes          = 1 << 20
	highStorageResolution     = 1
	standardStorageResolution = 60
)

// Unit is a CloudWatch unit.
type Unit string

// The units this service uses; Validate accepts every unit CloudWatch does.
const (
	Milliseconds Unit = "Milliseconds"
	Count        Unit = "Count"
	None         Unit = "None"
)

// validUnit reports whether u is one of the values the specification
// allows for Unit.
func validUnit(u string) bool {
	switch u {
	case "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes",
		"Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
		"Megabits", "Gigabits", "Terabits", "Percent", "Count",
		"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
		"Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
		"Gigabits/Second", "Terabits/Second", "Count/Second", "None":
		return true
	}
	return false
}

// Metric is one metric of a directive. Values holds one value or, for a
// metric observed several times in one document (a turn's model
// requests), up to MaxValuesPerMetric values.
type Metric struct {
	Name   string
	Unit   Unit
	Values []float64
}

// Directive is one MetricDirective: metrics under one namespace and set of
// dimensions. Dimensions maps each dimension's name to its value; keep
// them to values of low cardinality (a route, a model, a tool, an error
// code), since every distinct combination is a metric CloudWatch bills.
type Directive struct {
	Namespace  string
	Dimensions map[string]string
	Metrics    []Metric
}

// Document is one EMF log line. Properties are written at the top level
// too, for Logs Insights; CloudWatch does not make metrics of them, so
// they are where high-cardinality values (user, request and trace ids)
// belong.
type Document struct {
	Time       time.Time
	Directives []Directive
	Properties map[string]any
}

// Marshal encodes d as one JSON object, or says which rule of the
// specification it breaks.
func (d Document) Marshal() ([]byte, error) {
	root := make(map[string]any, len(d.Properties)+8)
	for k, v := range d.Properties {
		root[k] = v
	}
	type metricDef struct {
		Name string `json:"Name"`
		Unit string `json:"Unit,omitempty"`
	}
	type directive struct {
		Namespace  string      `json:"Namespace"`
		Dimensions [][]string  `json:"Dimensions"`
		Metrics    []metricDef `json:"Metrics"`
	}
	dirs := make([]directive, 0, len(d.Directives))
	for _, dir := range d.Directives {
		out := directive{Namespace: dir.Namespace, Dimensions: [][]string{{}}}
		names := slices.Sorted(maps.Keys(dir.Dimensions))
		out.Dimensions[0] = names
		for _, k := range names {
			if prev, ok := root[k]; ok && prev != dir.Dimensions[k] {
				return nil, fmt.Errorf("emf: dimension %q is %v in one directive and %q in another; a document has one value per member", k, prev, dir.Dimensions[k])
			}
			root[k] = dir.Dimensions[k]
		}
		for _, m := range dir.Metrics {
			out.Metrics = append(out.Metrics, metricDef{Name: m.Name, Unit: string(m.Unit)})
			var v any
			switch len(m.Values) {
			case 0:
				return nil, fmt.Errorf("emf: metric %q has no value", m.Name)
			case 1:
				v = m.Values[0]
			default:
				v = m.Values
			}
			if _, dup := root[m.Name]; dup {
				// The same metric may appear in two directives (with other
				// dimensions) only with the same values.
				if fmt.Sprint(root[m.Name]) != fmt.Sprint(v) {
					return nil, fmt.Errorf("emf: member %q is written twice with different values", m.Name)
				}
			}
			root[m.Name] = v
		}
		dirs = append(dirs, out)
	}
	root["_aws"] = map[string]any{"Timestamp": d.Time.UnixMilli(), "CloudWatchMetrics": dirs}
	b, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("emf: %w", err)
	}
	if err := Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Validate checks one log line against the specification: a JSON object
// with an _aws object holding a millisecond Timestamp and a non-empty
// CloudWatchMetrics array of directives, each with a Namespace, dimension
// sets of at most 30 keys that name string members of the root, and at
// most 100 metrics whose members are numbers or arrays of at most 100
// numbers.
func Validate(line []byte) error {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return fmt.Errorf("emf: the line is not one JSON object: %w", err)
	}
	if len(line) > MaxDocumentBytes {
		return fmt.Errorf("emf: the document is %d bytes; the limit is %d", len(line), MaxDocumentBytes)
	}
	raw, ok := root["_aws"]
	if !ok {
		return errors.New("emf: no _aws member")
	}
	var meta struct {
		Timestamp         *json.Number      `json:"Timestamp"`
		CloudWatchMetrics []json.RawMessage `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("emf: _aws is not an object: %w", err)
	}
	if meta.Timestamp == nil {
		return errors.New("emf: _aws.Timestamp is required")
	}
	if ts, err := meta.Timestamp.Int64(); err != nil || ts <= 0 {
		return fmt.Errorf("emf: _aws.Timestamp must be milliseconds since the epoch, got %s", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return errors.New("emf: _aws.CloudWatchMetrics must hold at least one directive")
	}
	for i, rd := range meta.CloudWatchMetrics {
		var dir struct {
			Namespace  *string    `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name              *string `json:"Name"`
				Unit              *string `json:"Unit"`
				StorageResolution *int    `json:"StorageResolution"`
			} `json:"Metrics"`
		}
		if err := json.Unmarshal(rd, &dir); err != nil {
			return fmt.Errorf("emf: directive %d: %w", i, err)
		}
		if dir.Namespace == nil || !validName(*dir.Namespace) || strings.HasPrefix(*dir.Namespace, "AWS/") {
			return fmt.Errorf("emf: directive %d: Namespace must be 1-%d characters and not start with AWS/", i, MaxNameLength)
		}
		if dir.Dimensions == nil {
			return fmt.Errorf("emf: directive %d: Dimensions is required (it may hold one empty set)", i)
		}
		for _, set := range dir.Dimensions {
			if len(set) > MaxDimensionsPerSet {
				return fmt.Errorf("emf: directive %d: a dimension set has %d keys; the limit is %d", i, len(set), MaxDimensionsPerSet)
			}
			for _, k := range set {
				var s string
				if err := json.Unmarshal(root[k], &s); err != nil || !validName(s) {
					return fmt.Errorf("emf: directive %d: dimension %q must be a string member of 1-%d characters", i, k, MaxNameLength)
				}
			}
		}
		if len(dir.Metrics) > MaxMetricsPerDirective {
			return fmt.Errorf("emf: directive %d has %d metrics; the limit is %d", i, len(dir.Metrics), MaxMetricsPerDirective)
		}
		for _, m := range dir.Metrics {
			if m.Name == nil || !validName(*m.Name) {
				return fmt.Errorf("emf: directive %d: every metric needs a Name of 1-%d characters", i, MaxNameLength)
			}
			if m.Unit != nil && !validUnit(*m.Unit) {
				return fmt.Errorf("emf: metric %q: unit %q is not a CloudWatch unit", *m.Name, *m.Unit)
			}
			if r := m.StorageResolution; r != nil && *r != highStorageResolution && *r != standardStorageResolution {
				return fmt.Errorf("emf: metric %q: StorageResolution must be 1 or 60", *m.Name)
			}
			if err := validValue(root[*m.Name]); err != nil {
				return fmt.Errorf("emf: metric %q: %w", *m.Name, err)
			}
		}
	}
	return nil
}

func validName(s string) bool { return s != "" && len(s) <= MaxNameLength }

func validValue(raw json.RawMessage) error {
	if raw == nil {
		return errors.New("no member of that name in the root")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return finite(one)
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return errors.New("the member must be a number or an array of numbers")
	}
	if len(many) == 0 || len(many) > MaxValuesPerMetric {
		return fmt.Errorf("an array of %d values; it must hold 1 to %d", len(many), MaxValuesPerMetric)
	}
	for _, v := range many {
		if err := finite(v); err != nil {
			return err
		}
	}
	return nil
}

func finite(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("values must be finite numbers")
	}
	return nil
}

// Writer writes documents to w one line each. Lines from concurrent turns
// never interleave: each is written in one call under a lock.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer on w (the function's stdout in Lambda, where
// CloudWatch Logs picks the lines up).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes d and writes it as one line. An error means d broke the
// specification (a bug) or w failed.
func (w *Writer) Write(d Document) error {
	b, err := d.Marshal()
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(b)
	return err
}
