package digestbot

import "testing"

func TestCompareSeq(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1700000000000-0", "1700000000000-0", 0},
		{"1700000000000-9", "1700000000000-10", -1}, // not bytewise
		{"999-5", "1000-0", -1},                     // not bytewise either
		{"1000-99", "1001-0", -1},                   // not by length
		{"1700000000001-0", "1700000000000-42", 1},
		{"00000009", "00000010", -1},
		{"9", "10", -1},
		{"b", "a", 1},
	} {
		if got := CompareSeq(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareSeq(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareSeq(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareSeq(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}
