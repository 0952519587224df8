package ingest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// benchWords is a small vocabulary for generated feed text.
var benchWords = strings.Fields(`the council approved a new budget for river flood defences after
months of debate while residents asked why the old levee was never repaired and engineers
warned that rising water would test every wall in the valley next spring ministers said
funding would follow a review of contracts signed by the previous administration`)

// generateRSS builds an RSS 2.0 feed of n items whose descriptions are HTML
// paragraphs of generated prose, in the shape of a real news feed.
func generateRSS(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	sentence := func(words int) string {
		var b strings.Builder
		for i := 0; i < words; i++ {
			w := benchWords[r.IntN(len(benchWords))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteByte('.')
		return b.String()
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>` + "\n")
	b.WriteString("<title>Valley Gazette</title><link>https://gazette.example/</link><language>en-gb</language>\n")
	start := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		b.WriteString("<item>\n")
		fmt.Fprintf(&b, "<title>%s</title>\n", strings.TrimSuffix(sentence(8), "."))
		fmt.Fprintf(&b, "<link>https://gazette.example/news/%d?utm_source=rss</link>\n", i)
		fmt.Fprintf(&b, "<guid isPermaLink=\"false\">gazette-%d</guid>\n", i)
		fmt.Fprintf(&b, "<pubDate>%s</pubDate>\n", start.Add(time.Duration(i)*time.Hour).Format(time.RFC1123Z))
		b.WriteString("<category>Local</category><category>Environment</category>\n")
		b.WriteString("<description><![CDATA[")
		for p := 0; p < 5; p++ {
			b.WriteString("<p>")
			for s := 0; s < 4; s++ {
				b.WriteString(sentence(12 + r.IntN(10)))
				b.WriteByte(' ')
			}
			b.WriteString("<a href=\"https://gazette.example/more\">More</a> &amp; more.</p>\n")
		}
		b.WriteString("]]></description>\n</item>\n")
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

// BenchmarkParseFeed measures parse and normalisation throughput (detection,
// XML, HTML to text, canonical URL, id, summary) on a generated feed of a
// few MB. Run: go test -run '^$' -bench ParseFeed -cpu 1 ./ingest/
func BenchmarkParseFeed(b *testing.B) {
	data := generateRSS(2000, 42)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		arts, err := Parse(data, "https://gazette.example/feed.xml", LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(arts) != 2000 {
			b.Fatalf("%d articles", len(arts))
		}
	}
	// On a shared machine wall time includes waiting for a CPU; throughput
	// per CPU second of this process says what one core does.
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
