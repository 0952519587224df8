package subscriptions

import (
	"fmt"
	"strings"
	"testing"
)

func TestWordTable(t *testing.T) {
	var w wordTable
	words := []string{"a", "china", strings.Repeat("x", wordInline), strings.Repeat("y", wordInline+1), "人脸识别"}
	for i := range 20000 { // enough to grow several times
		words = append(words, fmt.Sprintf("w%d", i))
	}
	for i, s := range words {
		if _, ok := w.get(s); ok {
			t.Fatalf("%q found before it was put", s)
		}
		w.put(s, wordEntry{tid: int32(i)})
	}
	for i, s := range words {
		if e, ok := w.get(s); !ok || e.tid != int32(i) {
			t.Fatalf("get(%q) = %v, %v; want tid %d", s, e, ok, i)
		}
	}
	if w.len() != len(words) {
		t.Errorf("len %d, want %d", w.len(), len(words))
	}
	w.reset()
	if _, ok := w.get("china"); ok || w.len() != 0 {
		t.Error("reset left words behind")
	}
}
