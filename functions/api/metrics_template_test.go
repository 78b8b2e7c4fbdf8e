package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/emf"
	"github.com/datachat/datachat/shared/samtemplate"
)

// metricRef is one use of a DataChat metric in the template.
type metricRef struct {
	where, name string
	dims        map[string]string // nil for a SEARCH expression
}

var searchMetric = regexp.MustCompile(`SEARCH\('\{DataChat,([A-Za-z,]+)\} MetricName="([A-Za-z]+)"`)

// dashboardRefs reads the DataChat metrics of every widget.
func dashboardRefs(t *testing.T, tmpl *samtemplate.Template) (refs []metricRef, stats map[string][]string) {
	t.Helper()
	body := samtemplate.Path(tmpl.Resources["Dashboard"].Properties, "DashboardBody", "Fn::Sub")
	src, ok := body.(string)
	if !ok {
		t.Fatalf("DashboardBody is not a !Sub string: %v", body)
	}
	src = regexp.MustCompile(`\$\{[^}]+\}`).ReplaceAllString(src, "X")
	var dash struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(src), &dash); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v", err)
	}
	stats = map[string][]string{}
	for _, w := range dash.Widgets {
		var prev []any
		for _, row := range w.Properties.Metrics {
			if len(row) == 0 {
				continue
			}
			if m, ok := row[0].(map[string]any); ok {
				expr, _ := m["expression"].(string)
				for _, s := range searchMetric.FindAllStringSubmatch(expr, -1) {
					refs = append(refs, metricRef{where: "widget " + w.Properties.Title, name: s[2]})
					for _, d := range strings.Split(s[1], ",") {
						if !slices.Contains([]string{emf.DimRoute, emf.DimModel, emf.DimTool, emf.DimErrorCode}, d) {
							t.Errorf("widget %q searches dimension %q, which the code does not emit", w.Properties.Title, d)
						}
					}
				}
				continue
			}
			// Expand the dashboard's shorthand: "." repeats the previous
			// row's value, "..." the rest of the previous row.
			var full []any
			for i, v := range row {
				switch v {
				case ".":
					full = append(full, prev[i])
				case "...":
					rest := prev[len(full):]
					if n := len(rest); n > 0 {
						if _, isOpts := rest[n-1].(map[string]any); isOpts {
							rest = rest[:n-1]
						}
					}
					full = append(full, rest...)
				default:
					full = append(full, v)
				}
			}
			prev = full
			if full[0] != emf.Namespace {
				continue
			}
			ref := metricRef{where: "widget " + w.Properties.Title, name: full[1].(string), dims: map[string]string{}}
			for i := 2; i+1 < len(full); i += 2 {
				k, _ := full[i].(string)
				v, _ := full[i+1].(string)
				ref.dims[k] = v
			}
			if opts, ok := full[len(full)-1].(map[string]any); ok {
				if s, ok := opts["stat"].(string); ok {
					stats[ref.name] = append(stats[ref.name], s)
				}
			}
			refs = append(refs, ref)
		}
	}
	return refs, stats
}

func alarmRefs(tmpl *samtemplate.Template) []metricRef {
	var refs []metricRef
	add := func(name string, m map[string]any) {
		if m["Namespace"] != emf.Namespace {
			return
		}
		ref := metricRef{where: "alarm " + name, name: m["MetricName"].(string), dims: map[string]string{}}
		dims, _ := m["Dimensions"].([]any)
		for _, d := range dims {
			dm := d.(map[string]any)
			ref.dims[dm["Name"].(string)], _ = dm["Value"].(string)
		}
		refs = append(refs, ref)
	}
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		add(name, r.Properties)
		metrics, _ := r.Properties["Metrics"].([]any)
		for _, m := range metrics {
			if metric, ok := samtemplate.Path(m.(map[string]any), "MetricStat", "Metric").(map[string]any); ok {
				add(name, metric)
			}
		}
	}
	return refs
}

// TestEveryWidgetAndAlarmNamesAnEmittedMetric checks the dashboard and the
// alarms against what shared/emf writes: metric names, dimension names and
// the route value, and that the operations the README promises are there.
func TestEveryWidgetAndAlarmNamesAnEmittedMetric(t *testing.T) {
	tmpl := openTemplate(t)
	widgets, stats := dashboardRefs(t, tmpl)
	alarms := alarmRefs(tmpl)
	emitted := emf.MetricNames()
	for _, r := range append(append([]metricRef(nil), widgets...), alarms...) {
		if !slices.Contains(emitted, r.name) {
			t.Errorf("%s names metric %s, which the code does not emit (it emits %v)", r.where, r.name, emitted)
		}
		for k, v := range r.dims {
			if k != emf.DimRoute {
				t.Errorf("%s uses dimension %s; only Route has a fixed value to name", r.where, k)
			} else if v != "POST /chat" {
				t.Errorf("%s uses Route %q; the chat turn's route is \"POST /chat\"", r.where, v)
			}
		}
	}
	named := func(refs []metricRef, name string) bool {
		return slices.ContainsFunc(refs, func(r metricRef) bool { return r.name == name })
	}
	for _, m := range []string{emf.TurnLatency, emf.ModelLatency, emf.InputTokens, emf.OutputTokens, emf.ToolErrors, emf.UsageLimitHit, emf.Errors} {
		if !named(widgets, m) {
			t.Errorf("no dashboard widget shows %s", m)
		}
	}
	for _, p := range []string{"p50", "p95", "p99"} {
		if !slices.Contains(stats[emf.TurnLatency], p) {
			t.Errorf("the turn latency widget lacks %s (has %v)", p, stats[emf.TurnLatency])
		}
	}
	for _, m := range []string{emf.TurnLatency, emf.ModelErrors, emf.InputTokens, emf.OutputTokens} {
		if !named(alarms, m) {
			t.Errorf("no alarm watches %s", m)
		}
	}
	if _, ok := tmpl.Parameters["DailyTokenAlarm"]; !ok {
		t.Error("template.yaml lacks the DailyTokenAlarm parameter")
	}
	if got := tmpl.Resources["DailyTokensAlarm"].Properties["Threshold"]; !equal(got, map[string]any{"Ref": "DailyTokenAlarm"}) {
		t.Errorf("DailyTokensAlarm threshold = %v, want the DailyTokenAlarm parameter", got)
	}
}
