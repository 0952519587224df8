package chart

import (
	"bytes"
	"image"
	_ "image/png" // image.Decode reads the PNG
	"os"
	"testing"
	"time"

	"github.com/digestbot/digestbot/trend"
)

func TestPNGDecodesAtItsSize(t *testing.T) {
	to := time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	var hits []trend.Hit
	for i := range 40 {
		hits = append(hits, trend.Hit{At: to.Add(-time.Duration(i*i) * time.Hour / 8).Truncate(time.Hour), Outlet: "Harbour Wire"})
	}
	tests := []struct {
		name  string
		since time.Duration
		hits  []trend.Hit
		loc   *time.Location
	}{
		{"a week per day", 7 * trend.Day, hits, paris},
		{"three days per hour", 72 * time.Hour, hits, time.UTC},
		{"a month per day", 30 * trend.Day, hits, time.UTC},
		{"nothing matched", 24 * time.Hour, nil, time.UTC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var counts []trend.Count
			for _, h := range tt.hits {
				counts = append(counts, trend.Count{At: h.At, Stories: 1})
			}
			s := trend.Build(`"ferry strike" OR walkout`, counts, tt.hits, to.Add(-tt.since), to, tt.loc, false)
			data, err := PNG(s)
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the chart does not decode: %v", err)
			}
			if format != "png" || img.Bounds().Dx() != Width || img.Bounds().Dy() != Height {
				t.Errorf("chart is a %s of %v, want a png of %dx%d", format, img.Bounds(), Width, Height)
			}
			if dir := os.Getenv("CHART_OUT"); dir != "" {
				os.WriteFile(dir+"/"+tt.name+".png", data, 0o644)
			}
		})
	}
}
