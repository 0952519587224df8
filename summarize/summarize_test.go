package summarize

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "  \n\n ", nil},
		{"simple", "One thing happened. Then another! Did it? Yes.", []string{"One thing happened.", "Then another!", "Did it?", "Yes."}},
		{"closing quote stays", `He said, "We are done." The room went quiet.`, []string{`He said, "We are done."`, "The room went quiet."}},
		{"curly quotes", "It was “a red line.” Nobody moved.", []string{"It was “a red line.”", "Nobody moved."}},
		{"abbreviations", "Mr. Smith met Dr. Lee in the U.S. on Monday. They talked.", []string{"Mr. Smith met Dr. Lee in the U.S. on Monday.", "They talked."}},
		{"company suffix", "Acme Co. Ltd. makes cameras. Sales fell.", []string{"Acme Co. Ltd. makes cameras.", "Sales fell."}},
		{"decimal", "Growth was 1.4 percent. Prices rose.", []string{"Growth was 1.4 percent.", "Prices rose."}},
		{"paragraph break ends a sentence", "A heading without stop\n\nThe body starts here.", []string{"A heading without stop", "The body starts here."}},
		{"chinese", "今天下雨。明天晴天！你去吗？好的", []string{"今天下雨。", "明天晴天！", "你去吗？", "好的"}},
		{"chinese with closing quote", "他说：“不行。”我们走了。", []string{"他说：“不行。”", "我们走了。"}},
		{"japanese", "東京は晴れです。大阪は雨です。", []string{"東京は晴れです。", "大阪は雨です。"}},
		{"white space folded", "Line one\nstill   one.\u00a0Two.", []string{"Line one still one.", "Two."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sentences(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Sentences(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want string
	}{
		{"fits", "short text", 20, "short text"},
		{"exact fit", "abcde", 5, "abcde"},
		{"word boundary", "the quick brown fox jumps", 12, "the quick…"},
		{"drops dangling comma", "alpha, beta gamma delta", 10, "alpha…"},
		{"one long word", "abcdefghijklmnop", 6, "abcde…"},
		{"cjk between characters", "中国发布新的规定", 5, "中国发布…"},
		{"zero", "anything", 0, ""},
		{"one", "anything", 1, "…"},
		{"folds space", "a  b\n\nc", 10, "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cut(tt.text, tt.max)
			if got != tt.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.max && tt.max > 0 {
				t.Errorf("Cut(%q, %d) has %d runes", tt.text, tt.max, n)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name string
		text string
		max  int
		want string
	}{
		{"whole text fits", "First. Second.", 300, "First. Second."},
		{"stops at sentence boundary", "The first sentence is here. The second one is much longer than the room left.", 40, "The first sentence is here."},
		{"first sentence too long is cut", long, 20, "word word word word…"},
		{"paragraphs joined", "Lead paragraph.\n\nSecond paragraph.", 300, "Lead paragraph. Second paragraph."},
		{"cjk joined without space", "今天下雨。明天晴天。", 300, "今天下雨。明天晴天。"},
		{"empty", "", 300, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.text, tt.max)
			if got != tt.want {
				t.Errorf("Summarize(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzSummarize(f *testing.F) {
	f.Add("Mr. A went. 他说。Yes!", 30)
	f.Add(strings.Repeat("x", 400), 300)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if max > 2000 || max < -5 {
			return
		}
		s := Summarize(text, max)
		if max > 0 && utf8.RuneCountInString(s) > max {
			t.Fatalf("summary of %d runes exceeds %d", utf8.RuneCountInString(s), max)
		}
		c := Cut(text, max)
		if max > 0 && utf8.RuneCountInString(c) > max {
			t.Fatalf("cut of %d runes exceeds %d", utf8.RuneCountInString(c), max)
		}
		if utf8.ValidString(text) && (!utf8.ValidString(s) || !utf8.ValidString(c)) {
			t.Fatalf("invalid UTF-8 out of valid input")
		}
	})
}
