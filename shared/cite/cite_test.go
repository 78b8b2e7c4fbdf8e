package cite_test

import (
	"reflect"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/cite"
)

func tables() []*chat.Table {
	return []*chat.Table{
		{ID: "t1", Columns: []chat.Column{{Name: "mean_close", Type: chat.TypeNumber}, {Name: "count", Type: chat.TypeInt}},
			Rows: [][]any{{1220.0420556442689, int64(253)}}, TotalRows: 1},
		{ID: "t2", Columns: []chat.Column{{Name: "symbol", Type: chat.TypeText}, {Name: "date", Type: chat.TypeDate}, {Name: "price", Type: chat.TypeNumber}, {Name: "share", Type: chat.TypeNumber}, {Name: "volume", Type: chat.TypeInt}},
			Rows: [][]any{{"AAPL", "2008-01-01", 135.91, 0.234, int64(1234567890)}, {"MSFT", "2008-02-01", 27.2, -0.385, int64(5)}}, TotalRows: 2},
	}
}

func TestNumbersInEveryFormatAreVerified(t *testing.T) {
	c := cite.New()
	for _, text := range []string{
		"The average close in 2008 was 1,220.04 over 253 trading days.",
		"About 1.22K on average (1220 rounded), or 1,220.",
		"AAPL was $135.91 on 2008-01-01 and held a 23.4% share.",
		"MSFT fell 38.5% (-38.5%, or -0.385) to $27.20 in Feb 2008, on 5 shares.",
		"Volume reached 1.23B (1,234,567,890; 1.2 billion) in January 2008, Q1 2008, 2008-Q1 and 2008-01.",
		"The S&P 500 averaged 1,220 in 2008; on Jan 2, 2008 and 3/14/2008 at 10:30 nothing else happened.",
		"No numbers at all.",
	} {
		cs := c.Check(text, tables())
		if !chat.Verified(cs) {
			t.Errorf("%q: not verified: %+v", text, unmatched(cs))
		}
	}
}

func unmatched(cs []chat.Citation) []string {
	var out []string
	for _, c := range cs {
		if !c.Matched() {
			out = append(out, c.Text)
		}
	}
	return out
}

func TestAWrongNumberIsUnverifiedWithANullCell(t *testing.T) {
	cs := cite.New().Check("The average close was 1,220.04, then 1,300.50 in 2009, over 253 days.", tables())
	if chat.Verified(cs) || len(cs) != 3 {
		t.Fatalf("got %+v, want three citations and the answer unverified", cs)
	}
	if cs[1].Text != "1,300.50" || cs[1].Value != 1300.5 || cs[1].Table != nil || cs[1].Row != nil || cs[1].Column != nil {
		t.Fatalf("wrong number cited as %+v, want a citation with null table, row and column", cs[1])
	}
	if cs[0].Table == nil || *cs[0].Table != "t1" || *cs[0].Row != 0 || *cs[0].Column != "mean_close" {
		t.Fatalf("right number cited as %+v, want t1 row 0 mean_close", cs[0])
	}
	if *cs[2].Column != "count" {
		t.Fatalf("253 cited as %+v", cs[2])
	}
}

func TestDatesYearsAndNamesAreNotNumbers(t *testing.T) {
	got := cite.New().Numbers("In 2008 (from 2007-12-31 to 2008-03, Q3 2009, March 5th 2009) the S&P 500 and t1 rose 12.5% to $1.2K, 1st of 3 tries.")
	var texts []string
	for _, n := range got {
		texts = append(texts, n.Text)
	}
	if want := []string{"12.5%", "$1.2K", "3"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("numbers %q, want %q", texts, want)
	}
	if got[1].Value != 1200 || !got[0].Percent || got[0].Value != 12.5 {
		t.Fatalf("values %+v", got)
	}
}

func TestRoundingIsToTheDigitsShown(t *testing.T) {
	c := cite.New()
	for text, ok := range map[string]bool{
		"1,220.04": true, "1,220.0": true, "1,220": true, "1.2K": true, "1,220.05": false, "1,221": false, "1.3K": false, "$135.9": true, "$136": true, "$135.8": false,
	} {
		if got := chat.Verified(c.Check(text, tables())); got != ok {
			t.Errorf("%q: verified %v, want %v", text, got, ok)
		}
	}
}
