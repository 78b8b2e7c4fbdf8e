package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/datachat/datachat/shared/app"
)

// offlineSuite is every question the offline model's tests ask, the
// shapes of the README's table in several phrasings.
var offlineSuite = []string{
	"What was the average closing price of the S&P 500 in 2008?",
	"mean close of the s&p 500 during 2008",
	"Which day had the highest trading volume in 2010?",
	"On what day in 2010 was volume at its maximum?",
	"Which month had the highest volume?",
	"Plot the S&P 500 close from 2007 to 2009",
	"Plot the S&P 500 close in 2008",
	"Chart the S&P 500 closing price between 2001 and 2003",
	"Plot the S&P 500 close",
	"Compare AAPL and MSFT since 2005",
	"Compare all five stocks",
	"Average price by symbol",
	"yearly average close of the S&P 500",
	"Monthly average close of the S&P 500",
	"Top 5 months for AMZN by price",
	"Top 50 days by volume in 2008",
	"Show the S&P 500 top 10 days by volume in 2008",
	"How much did the S&P 500 fall in 2008?",
	"What was the S&P 500's percent change from 2007 to 2009?",
	"What was the return of the S&P 500 in 2009?",
	"How much did AAPL rise between 2005 and 2009?",
	"What was the biggest daily drop of the S&P 500?",
	"the biggest one-day drop in 2008",
	"What was the largest daily gain of the S&P 500 in 2009?",
	"largest daily move of the S&P 500 in 2008",
	"Which stock grew the most between 2005 and 2010?",
	"Which symbol rose the most from 2007 to 2009?",
	"Which stock fell the most in 2008?",
	"What was MSFT's price in March 2009?",
	"Price of AAPL in January 2008",
	"What did the S&P 500 close at on 2008-10-10?",
	"S&P 500 close on October 11, 2008",
	"What was the S&P 500 in March 2009?",
	"quarterly average close of the S&P 500 in 2008",
	"weekly average close of the S&P 500 in 2008",
	"average close by quarter of the S&P 500 from 2007 to 2009",
	"quarterly average price of AAPL and MSFT in 2008",
	"average close of the S&P 500 in 2008 vs 2009",
	"How many days did the S&P 500 close above 1500 in 2007?",
	"Which year had the highest average close?",
	"average close of the S&P 500 before 2005",
	"average close of the S&P 500 after 2005",
	"average close of the S&P 500 in March 2008",
	"average close of the S&P 500 in the first half of 2008",
	"Why did the S&P 500 fall in 2008?",
	"What is the median close of the S&P 500 in 2008?",
	"What's the weather in Paris tomorrow?",
}

// verifiedAnswer is the part of an answer the check is about.
type verifiedAnswer struct {
	ConversationID string `json:"conversation_id"`
	Answer         string `json:"answer"`
	Table          *struct {
		Rows      [][]any        `json:"rows"`
		TotalRows int            `json:"total_rows"`
		Truncated bool           `json:"truncated"`
		Source    map[string]any `json:"source"`
	} `json:"table"`
	Chart *struct {
		Data struct {
			Values []any `json:"values"`
		} `json:"data"`
	} `json:"chart"`
	Citations []struct {
		Text   string  `json:"text"`
		Value  float64 `json:"value"`
		Table  *string `json:"table"`
		Row    *int    `json:"row"`
		Column *string `json:"column"`
	} `json:"citations"`
	Verified bool `json:"verified"`
}

func askVerified(t *testing.T, srv interface {
	Client() *http.Client
}, base, tok, q, conv string) verifiedAnswer {
	t.Helper()
	in := map[string]string{"message": q}
	if conv != "" {
		in["conversation_id"] = conv
	}
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", base+"/chat", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%q: status %d", q, resp.StatusCode)
	}
	var a verifiedAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOfflineAnswersAreVerified asks the whole offline suite: every
// number of every answer must be found in the turn's tool results. It
// logs the share verified (go test -v -run TestOfflineAnswersAreVerified).
func TestOfflineAnswersAreVerified(t *testing.T) {
	srv := newApp(t, app.Deps{}, nil)
	tok := tokenFor(t, "verifier")
	numbers, matched := 0, 0
	for _, q := range offlineSuite {
		a := askVerified(t, srv, srv.URL, tok, q, "")
		rows, points := 0, 0
		if a.Table != nil {
			rows = len(a.Table.Rows)
		}
		if a.Chart != nil {
			points = len(a.Chart.Data.Values)
		}
		var missing []string
		for _, c := range a.Citations {
			numbers++
			if c.Table != nil {
				matched++
			} else {
				missing = append(missing, c.Text)
			}
		}
		t.Logf("| %s | %s | %v | %d | %d |", q, a.Answer, a.Verified, rows, points)
		if !a.Verified || len(missing) > 0 {
			t.Errorf("%q: unverified numbers %v in %q", q, missing, a.Answer)
		}
		if a.Table != nil && a.Table.Source == nil {
			t.Errorf("%q: the table has no source", q)
		}
	}
	if numbers == 0 {
		t.Fatal("the suite's answers hold no numbers")
	}
	t.Logf("numbers verified: %d of %d (%.1f%%)", matched, numbers, 100*float64(matched)/float64(numbers))
}
