package ingest

import (
	"fmt"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// encodedFeed builds an RSS feed holding title and body and encodes it with
// enc; decl is the encoding named in the XML declaration ("" for none).
// This is how the charset fixtures are made: from UTF-8 text written here,
// so the expected result is known exactly.
func encodedFeed(t *testing.T, enc encoding.Encoding, decl, title, body string) []byte {
	t.Helper()
	head := `<?xml version="1.0"?>`
	if decl != "" {
		head = fmt.Sprintf(`<?xml version="1.0" encoding="%s"?>`, decl)
	}
	doc := head + "\n<rss version=\"2.0\"><channel><title>Charset Desk</title>" +
		"<item><title>" + title + "</title><link>https://charset.example/1</link>" +
		"<description>" + body + "</description></item></channel></rss>\n"
	b, err := enc.NewEncoder().Bytes([]byte(doc))
	if err != nil {
		t.Fatalf("encoding fixture: %v", err)
	}
	return b
}

func TestFeedCharsets(t *testing.T) {
	tests := []struct {
		name        string
		enc         encoding.Encoding
		decl        string // XML declaration encoding
		contentType string // HTTP Content-Type
		title, body string
	}{
		{"gbk declared", simplifiedchinese.GBK, "GBK", "", "港口新航线开通", "渡轮今晚首航。"},
		{"gb2312 declared", simplifiedchinese.GBK, "gb2312", "", "图书馆延长开放时间", "读者欢迎。"},
		{"gb18030 declared", simplifiedchinese.GB18030, "GB18030", "", "市场广场重新铺设", "摊位暂时搬迁。"},
		{"big5 declared", traditionalchinese.Big5, "Big5", "", "燈塔修復獲得補助", "志工十分高興。"},
		{"shift_jis declared", japanese.ShiftJIS, "Shift_JIS", "", "陶芸窯の修理完了", "来週から教室再開。"},
		{"euc-jp declared", japanese.EUCJP, "EUC-JP", "", "天体観測会のお知らせ", "西の空を見てください。"},
		{"windows-1252 declared", charmap.Windows1252, "windows-1252", "", "Café “Crème” reopens — €5 menu", "Señora Núñez is back."},
		{"iso-8859-1 declared", charmap.ISO8859_1, "ISO-8859-1", "", "Über die Brücke", "Straße gesperrt."},
		{"charset only in http header", simplifiedchinese.GBK, "", "application/rss+xml; charset=GBK", "渡轮时刻表调整", "夜班船开通。"},
		{"big5 only in http header", traditionalchinese.Big5, "", "text/xml; charset=big5", "颱風警報解除", "學校明天復課。"},
		{"undeclared non-utf8 read as windows-1252", charmap.Windows1252, "", "", "Déjà vu at the café", "Naïve résumé."},
		{"utf-16 with bom", unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), "UTF-16", "", "Ünïcödé sixteen 中文", "Body text."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodedFeed(t, tt.enc, tt.decl, tt.title, tt.body)
			arts, err := Parse(data, "charset.xml", LoadOptions{ContentType: tt.contentType})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(arts) != 1 {
				t.Fatalf("%d articles", len(arts))
			}
			if arts[0].Title != tt.title || arts[0].Text != tt.body {
				t.Errorf("got title %q text %q, want %q %q", arts[0].Title, arts[0].Text, tt.title, tt.body)
			}
		})
	}
}

func TestNewsletterCharsets(t *testing.T) {
	text := "Café Reopens on the Quay\n\nThe owners said the new menu costs €5 and pleases everyone.\n\nSource: Quay Weekly, June 3, 2024\nhttps://quay.example/cafe\n"
	tests := []struct {
		name        string
		enc         encoding.Encoding
		contentType string
	}{
		{"utf-8", encoding.Nop, ""},
		{"windows-1252 without label", charmap.Windows1252, ""},
		{"iso-8859-15 labelled", charmap.ISO8859_15, "text/plain; charset=iso-8859-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.enc.NewEncoder().Bytes([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			arts, err := Parse(data, "quay.txt", LoadOptions{ContentType: tt.contentType})
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != 1 || arts[0].Title != "Café Reopens on the Quay" ||
				arts[0].Text != "The owners said the new menu costs €5 and pleases everyone." {
				t.Fatalf("got %+v", arts)
			}
		})
	}
}
