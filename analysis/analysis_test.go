package analysis

import (
	"reflect"
	"strings"
	"testing"
)

func texts(toks []Token) []string {
	out := []string{}
	for _, t := range toks {
		out = append(out, t.Text)
	}
	return out
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain words", "China Has a Red Line", []string{"china", "has", "a", "red", "line"}},
		{"case and punctuation", "NORWAY, closes; the (Confucius) Institute!", []string{"norway", "closes", "the", "confucius", "institute"}},
		{"accent folding", "Harald Bøckman, Raphaël Glucksmann, François", []string{"harald", "bockman", "raphael", "glucksmann", "francois"}},
		{"ascii possessive", "China's development", []string{"china", "development"}},
		{"typographic possessive", "China’s development", []string{"china", "development"}},
		{"inner apostrophe kept", "don't O’Brien", []string{"don't", "o'brien"}},
		{"trailing apostrophe dropped", "the students’ union", []string{"the", "students", "union"}},
		{"hyphen splits", "China-centric Sino-US", []string{"china", "centric", "sino", "us"}},
		{"whole words only", "Chinatown", []string{"chinatown"}},
		{"full width", "ＡＢＣ１２３", []string{"abc123"}},
		{"sharp s folds", "Straße STRASSE", []string{"strasse", "strasse"}},
		{"greek accents", "Αθήνα", []string{"αθηνα"}},
		{"han per character", "人脸识别系统", []string{"人", "脸", "识", "别", "系", "统"}},
		{"mixed scripts", "iPhone手机", []string{"iphone", "手", "机"}},
		{"hangul per syllable", "서울 시장", []string{"서", "울", "시", "장"}},
		{"kana voiced mark kept", "ガス", []string{"ガ", "ス"}},
		{"half-width katakana", "ｶﾞｽ", []string{"ガ", "ス"}},
		{"numbers", "1.4 billion in 2020", []string{"1", "4", "billion", "in", "2020"}},
		{"empty", "  ... ", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts(Tokenize(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokenOffsets(t *testing.T) {
	in := "Xinhua: “China’s red line” — Bøckman said 人脸"
	toks := Tokenize(in)
	want := []string{"Xinhua", "China’s", "red", "line", "Bøckman", "said", "人", "脸"}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens %q, want %d", len(toks), texts(toks), len(want))
	}
	for i, tok := range toks {
		if got := in[tok.Start:tok.End]; got != want[i] {
			t.Errorf("token %d spans %q, want %q", i, got, want[i])
		}
		if tok.Pos != i {
			t.Errorf("token %d has position %d", i, tok.Pos)
		}
	}
}

func TestAppendTokensReusesSlice(t *testing.T) {
	buf := Tokenize("first text")
	buf = AppendTokens(buf[:0], "Second Text here")
	if got := texts(buf); !reflect.DeepEqual(got, []string{"second", "text", "here"}) {
		t.Fatalf("got %q", got)
	}
	if buf[2].Pos != 2 {
		t.Fatalf("positions restart for each text, got %d", buf[2].Pos)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bøckman’s", "bockman's"},
		{"“Quoted” Text", `"quoted" text`},
		{"ＣＣＴＶ", "cctv"},
		{"Café", "cafe"},
		{"plain ascii", "plain ascii"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Normalising first must not change the tokens: queries and articles may
// arrive in either form.
func TestTokenizeStableUnderNormalize(t *testing.T) {
	for _, in := range []string{"Bøckman’s STRASSE", "人脸识别 in Shenzhen", "don’t “stop”", "ＡＢＣ and ｶﾞｽ"} {
		a, b := texts(Tokenize(in)), texts(Tokenize(Normalize(in)))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q: tokens %q, after Normalize %q", in, a, b)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"China’s", "人脸识别", "a'b'c", "ß", "\xff\xfe", "ｶﾞ", "x'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Tokenize(s)
		prev := 0
		for i, tok := range toks {
			if tok.Start < prev || tok.End > len(s) || tok.Start >= tok.End {
				t.Fatalf("token %d has bad span [%d,%d) in %d bytes", i, tok.Start, tok.End, len(s))
			}
			if tok.Text == "" || strings.ContainsAny(tok.Text, " \t\n") {
				t.Fatalf("token %d text %q", i, tok.Text)
			}
			prev = tok.Start
		}
	})
}

var sink []Token

func BenchmarkTokenize(b *testing.B) {
	text := strings.Repeat("On March 15, 2021, China Central Television (CCTV) reported that many stores’ monitors use facial recognition. ", 28)
	b.SetBytes(int64(len(text)))
	buf := make([]Token, 0, 1024)
	for b.Loop() {
		buf = AppendTokens(buf[:0], text)
	}
	sink = buf
}
