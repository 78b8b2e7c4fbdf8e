package offline

import (
	"context"
	"reflect"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

func TestParseShapes(t *testing.T) {
	v := newVocabulary()
	cases := []struct {
		q       string
		shape   shape
		coll    string
		field   string
		from    string
		to      string
		symbols []string
	}{
		{"What was the average closing price of the S&P 500 in 2008?", shapeMetric, "SP500", "close", "2008-01-01", "2008-12-31", nil},
		{"how many trading days were there in 2015", shapeMetric, "SP500", "close", "2015-01-01", "2015-12-31", nil},
		{"Which day had the highest trading volume in 2010?", shapeExtreme, "SP500", "volume", "2010-01-01", "2010-12-31", nil},
		{"Plot the S&P 500 close from 2007 to 2009", shapeSeries, "SP500", "close", "2007-01-01", "2009-12-31", nil},
		{"chart the index between 2009-03-01 and 2009-06-30", shapeSeries, "SP500", "close", "2009-03-01", "2009-06-30", nil},
		{"Compare AAPL and MSFT since 2005", shapeComparison, "Stocks", "price", "2005-01-01", "", []string{"AAPL", "MSFT"}},
		{"apple vs microsoft", shapeComparison, "Stocks", "price", "", "", []string{"AAPL", "MSFT"}},
		{"Average price by symbol", shapeGrouping, "Stocks", "price", "", "", nil},
		{"yearly average close of the S&P 500", shapeGrouping, "SP500", "close", "", "", nil},
		{"Top 5 months for AMZN by price", shapeTopN, "Stocks", "price", "", "", []string{"AMZN"}},
		{"And in 2009?", shapeNone, "", "close", "2009-01-01", "2009-12-31", nil},
		{"tell me a joke", shapeNone, "", "close", "", "", nil},
	}
	for _, c := range cases {
		p := v.parse(c.q)
		if p.shape != c.shape || p.coll != c.coll || p.field != c.field || p.period.from != c.from || p.period.to != c.to || !reflect.DeepEqual(p.symbols, c.symbols) {
			t.Errorf("%q: got shape %d coll %q field %q period %q-%q symbols %v", c.q, p.shape, p.coll, p.field, p.period.from, p.period.to, p.symbols)
		}
	}
}

func TestDeterministic(t *testing.T) {
	m := New()
	req := chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser, Content: "Compare AAPL and MSFT since 2005"}}}
	a, err := m.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, _ := m.Complete(context.Background(), req)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("two runs differ: %+v vs %+v", a, b)
		}
	}
	if len(a.Message.ToolCalls) != 2 || a.Message.ToolCalls[0].Name != chat.ToolQuery || a.Message.ToolCalls[1].Name != chat.ToolAggregate {
		t.Fatalf("first step: %+v, want query and aggregate in parallel", a.Message.ToolCalls)
	}
}

func TestFollowUpWithoutEarlierQuestionIsNotAGuess(t *testing.T) {
	m := New()
	resp, err := m.Complete(context.Background(), chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser, Content: "And in 2009?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Message.ToolCalls) != 1 || resp.Message.ToolCalls[0].Name != chat.ToolDescribe {
		t.Fatalf("got %+v, want a describe call leading to what can be asked", resp.Message)
	}
}
