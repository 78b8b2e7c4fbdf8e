// Package sample is the market data shipped with the project: daily S&P 500
// prices 2000-2020 and monthly prices of five stocks 2000-2010, taken from
// vega-datasets (see data/NOTICE). It backs the embedded warehouse of local
// runs and is what `datachat seed` loads into Weaviate.
package sample

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/datachat/datachat/shared/chat"
)

//go:embed data/sp500-2000.csv data/stocks.csv
var files embed.FS

// Collection names of the sample data.
const (
	SP500  = "SP500"
	Stocks = "Stocks"
)

// Dataset is one collection with its rows. Each row holds one value per
// field, in the collection's field order, typed as chat.Table cells are.
type Dataset struct {
	Collection chat.Collection
	Rows       [][]any
	// IDs are deterministic object ids (UUID v5 of collection and natural
	// key), so loading the data twice yields the same objects.
	IDs []string
}

// SP500Collection describes the S&P 500 daily data.
func SP500Collection() chat.Collection {
	return chat.Collection{
		Name:        SP500,
		Description: "S&P 500 index, daily open/high/low/close and volume, 2000-01-03 to 2020-04-17",
		Fields: []chat.Field{
			{Name: "date", Type: chat.TypeDate, Description: "trading day"},
			{Name: "open", Type: chat.TypeNumber},
			{Name: "high", Type: chat.TypeNumber},
			{Name: "low", Type: chat.TypeNumber},
			{Name: "close", Type: chat.TypeNumber},
			{Name: "adjclose", Type: chat.TypeNumber, Description: "close adjusted for dividends and splits"},
			{Name: "volume", Type: chat.TypeInt, Description: "shares traded"},
			{Name: "year", Type: chat.TypeInt},
			{Name: "month", Type: chat.TypeText, Description: "YYYY-MM, for grouping by month"},
		},
	}
}

// StocksCollection describes the monthly stock prices.
func StocksCollection() chat.Collection {
	return chat.Collection{
		Name:        Stocks,
		Description: "monthly prices of AAPL, AMZN, GOOG, IBM and MSFT, 2000-01 to 2010-03",
		Fields: []chat.Field{
			{Name: "symbol", Type: chat.TypeText, Description: "ticker: AAPL, AMZN, GOOG, IBM or MSFT"},
			{Name: "date", Type: chat.TypeDate, Description: "first day of the month"},
			{Name: "price", Type: chat.TypeNumber, Description: "price in US dollars"},
			{Name: "year", Type: chat.TypeInt},
			{Name: "month", Type: chat.TypeText, Description: "YYYY-MM, for grouping by month"},
		},
	}
}

// idSpace namespaces the deterministic object ids of the sample data.
const idSpace = "6f1c5e3a-7d2b-4c8e-9a41-2b7d0e5f8c13"

// ObjectID returns the deterministic id of a sample object.
func ObjectID(collection, key string) string {
	return uuid.NewSHA1(uuid.MustParse(idSpace), []byte(collection+"/"+key)).String()
}

// Load parses both datasets. It is cheap (about 5,700 rows) and returns
// fresh slices, so callers own what they get.
func Load() ([]Dataset, error) {
	sp, err := loadSP500()
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	st, err := loadStocks()
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	return []Dataset{sp, st}, nil
}

func readCSV(name string) ([][]string, error) {
	b, err := files.ReadFile("data/" + name)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	var recs [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s: line %d has %d fields, want %d", name, len(recs)+2, len(rec), len(header))
		}
		recs = append(recs, rec)
	}
}

func loadSP500() (Dataset, error) {
	recs, err := readCSV("sp500-2000.csv")
	if err != nil {
		return Dataset{}, err
	}
	ds := Dataset{Collection: SP500Collection()}
	for i, rec := range recs {
		// date,open,high,low,close,adjclose,volume
		d, err := time.Parse(time.DateOnly, rec[0])
		if err != nil {
			return Dataset{}, fmt.Errorf("sp500-2000.csv line %d: %w", i+2, err)
		}
		nums := make([]float64, 5)
		for j := range nums {
			if nums[j], err = strconv.ParseFloat(rec[j+1], 64); err != nil {
				return Dataset{}, fmt.Errorf("sp500-2000.csv line %d: %w", i+2, err)
			}
		}
		vol, err := strconv.ParseInt(rec[6], 10, 64)
		if err != nil {
			return Dataset{}, fmt.Errorf("sp500-2000.csv line %d: %w", i+2, err)
		}
		ds.Rows = append(ds.Rows, []any{rec[0], nums[0], nums[1], nums[2], nums[3], nums[4], vol, int64(d.Year()), d.Format("2006-01")})
		ds.IDs = append(ds.IDs, ObjectID(SP500, rec[0]))
	}
	return ds, nil
}

func loadStocks() (Dataset, error) {
	recs, err := readCSV("stocks.csv")
	if err != nil {
		return Dataset{}, err
	}
	ds := Dataset{Collection: StocksCollection()}
	for i, rec := range recs {
		// symbol,date,price with dates such as "Jan 1 2000"
		d, err := time.Parse("Jan 2 2006", rec[1])
		if err != nil {
			return Dataset{}, fmt.Errorf("stocks.csv line %d: %w", i+2, err)
		}
		price, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			return Dataset{}, fmt.Errorf("stocks.csv line %d: %w", i+2, err)
		}
		date := d.Format(time.DateOnly)
		ds.Rows = append(ds.Rows, []any{rec[0], date, price, int64(d.Year()), d.Format("2006-01")})
		ds.IDs = append(ds.IDs, ObjectID(Stocks, rec[0]+"/"+date))
	}
	return ds, nil
}
