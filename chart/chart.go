// Package chart draws the /trend chart with gonum's plot package: stories
// per hour or per day as bars, as a PNG of a fixed size. It is the only
// package that uses gonum.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/digestbot/digestbot/trend"
)

// The chart's size in pixels: wide enough for 72 hourly bars, and within
// what a chat client shows without scaling it down much.
const (
	Width  = 800
	Height = 400
	dpi    = 96
)

// maxLabels bounds the labels under the bars, so they do not overlap.
const maxLabels = 12

var barColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}

// PNG draws the series as a bar chart, Width × Height pixels.
func PNG(s *trend.Series) ([]byte, error) {
	p := plot.New()
	p.BackgroundColor = color.White
	p.Title.Text = title(s)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	per := "day"
	if s.Step == time.Hour {
		per = "hour"
	}
	p.Y.Label.Text = "stories per " + per
	p.X.Label.Text = axisNote(s)

	values := make(plotter.Values, len(s.Counts))
	top := 0
	for i, n := range s.Counts {
		values[i] = float64(n)
		top = max(top, n)
	}
	// Bars take most of their slot; the slot is the plot's width shared.
	slot := vg.Length(Width*72/dpi-90) / vg.Length(max(len(values), 1))
	bars, err := plotter.NewBarChart(values, slot*0.8)
	if err != nil {
		return nil, fmt.Errorf("chart bars: %w", err)
	}
	bars.Color = barColor
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.Y.Min, p.Y.Max = 0, float64(max(top, 1))*1.05
	// Half a slot of room left and right, so no bar touches the frame.
	p.X.Min, p.X.Max = -0.6, float64(len(values))-0.4
	p.Y.Tick.Marker = wholeTicks{}
	p.NominalX(labels(s)...)

	c := vgimg.NewWith(vgimg.UseWH(vg.Length(Width*72/dpi), vg.Length(Height*72/dpi)), vgimg.UseDPI(dpi))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

// title names the query and the window: `"ferry strike" — last 7 days`.
func title(s *trend.Series) string {
	q := []rune(s.Query)
	if len(q) > 60 {
		q = append(q[:59], '…')
	}
	return fmt.Sprintf("%s — last %s", string(q), s.Span())
}

// axisNote says where days begin, and that the last step is still running.
func axisNote(s *trend.Series) string {
	zone := "UTC"
	if s.Location != nil {
		zone = s.Location.String()
	}
	if s.Step == time.Hour {
		return "hours in " + zone + "; the last one is still running"
	}
	return "days in " + zone + "; today is still running"
}

// labels names the steps, leaving gaps so that at most maxLabels show.
func labels(s *trend.Series) []string {
	every := int(math.Ceil(float64(len(s.Counts)) / maxLabels))
	out := make([]string, len(s.Counts))
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	t := s.From
	for i := range out {
		// Label from the newest step back, so the current one is named.
		if (len(out)-1-i)%every == 0 {
			switch {
			case s.Step == time.Hour && len(out) > 24:
				out[i] = t.In(loc).Format("Mon 15:04")
			case s.Step == time.Hour:
				out[i] = t.In(loc).Format("15:04")
			default:
				out[i] = t.In(loc).Format("Mon 2")
			}
		}
		if s.Step == time.Hour {
			t = t.Add(time.Hour)
		} else {
			l := t.In(loc)
			t = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		}
	}
	return out
}

// wholeTicks marks whole numbers of stories only, about five of them.
type wholeTicks struct{}

// Ticks implements plot.Ticker.
func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/5))
	var out []plot.Tick
	for v := math.Ceil(lo); v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return out
}
