package benchgen

import (
	"reflect"
	"testing"

	"github.com/digestbot/digestbot/subscriptions"
)

func TestDeterministic(t *testing.T) {
	a, b := New(Options{Seed: 7}), New(Options{Seed: 7})
	if !reflect.DeepEqual(a.Queries(200), b.Queries(200)) || !reflect.DeepEqual(a.Articles(5), b.Articles(5)) {
		t.Fatal("same seed gave different data")
	}
	if reflect.DeepEqual(a.Queries(50), New(Options{Seed: 8}).Queries(50)) {
		t.Fatal("different seeds gave the same queries")
	}
}

func TestQueriesParseAndArticlesSized(t *testing.T) {
	g := New(Options{Seed: 1})
	for i, q := range g.Queries(2000) {
		if _, err := subscriptions.Parse(q); err != nil {
			t.Fatalf("query %d %q: %v", i+1, q, err)
		}
	}
	for _, a := range g.Articles(20) {
		if len(a.Text) < 3000 || len(a.Text) > 3600 {
			t.Errorf("article %s is %d bytes, want about 3000", a.ID, len(a.Text))
		}
	}
}
