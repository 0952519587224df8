package store

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/digestbot/digestbot"
)

func TestOpenWrongPassword(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireAuth("right")
	tests := []struct {
		name, url, code string
	}{
		{"no password", "redis://" + m.Addr(), digestbot.EINVALID},
		{"wrong password", "redis://:wrong@" + m.Addr(), digestbot.EINVALID},
		{"right password", "redis://:right@" + m.Addr(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(context.Background(), Options{URL: tc.url})
			if err == nil {
				st.Close()
			}
			if got := digestbot.ErrorCode(err); got != tc.code {
				t.Fatalf("Open = %v; code %q, want %q", err, got, tc.code)
			}
			if err != nil && !strings.Contains(digestbot.ErrorMessage(err), "password") {
				t.Fatalf("message %q does not point at the password", digestbot.ErrorMessage(err))
			}
		})
	}
}
