package redisurl

import (
	"strings"
	"testing"

	"github.com/digestbot/digestbot"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		addrs   []string
		cluster bool
		tls     bool
		db      int
		pass    string
		wantErr string // part of the message; "" = valid
	}{
		{name: "plain", in: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{name: "db and password", in: "redis://:s3cret@redis.internal:6380/2", addrs: []string{"redis.internal:6380"}, db: 2, pass: "s3cret"},
		{name: "tls", in: "rediss://cache.example.com:6380", addrs: []string{"cache.example.com:6380"}, tls: true},
		{name: "default port", in: "redis://localhost", addrs: []string{"localhost:6379"}},
		{name: "bare host:port", in: "10.0.0.5:6379", addrs: []string{"10.0.0.5:6379"}},
		{name: "cluster seeds", in: "10.0.0.1:7000, 10.0.0.2:7000,redis://10.0.0.3:7000", addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}, cluster: true},
		{name: "cluster with tls and password", in: "rediss://:pw@n1:7000,n2:7000", addrs: []string{"n1:7000", "n2:7000"}, cluster: true, tls: true, pass: "pw"},
		{name: "empty", in: "  ", wantErr: "it is empty"},
		{name: "no scheme no port", in: "notaurl", wantErr: "neither a redis:// URL nor a host:port"},
		{name: "http", in: "http://127.0.0.1:6379", wantErr: `scheme "http"`},
		{name: "no host", in: "redis://:6379", wantErr: "names no host"},
		{name: "port out of range", in: "redis://127.0.0.1:70000", wantErr: "port"},
		{name: "empty seed", in: "n1:7000,,n2:7000", wantErr: "empty"},
		{name: "cluster with db", in: "redis://n1:7000/3,n2:7000", wantErr: "only database 0"},
		{name: "bad db", in: "redis://127.0.0.1:6379/abc", wantErr: "invalid"},
		{name: "password hidden", in: "http://user:hunter2@host:1", wantErr: "xxxxx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.in)
			if tc.wantErr != "" {
				if digestbot.ErrorCode(err) != digestbot.EINVALID {
					t.Fatalf("Parse(%q) = %v; want EINVALID", tc.in, err)
				}
				msg := digestbot.ErrorMessage(err)
				if !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, "rediss://") {
					t.Fatalf("message %q should contain %q and say what is allowed", msg, tc.wantErr)
				}
				if strings.Contains(msg, "hunter2") {
					t.Fatalf("message %q shows the password", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tc.addrs, ",") || o.IsClusterMode != tc.cluster ||
				(o.TLSConfig != nil) != tc.tls || o.DB != tc.db || o.Password != tc.pass {
				t.Fatalf("Parse(%q) = addrs %v cluster %v tls %v db %d password %q",
					tc.in, o.Addrs, o.IsClusterMode, o.TLSConfig != nil, o.DB, o.Password)
			}
		})
	}
}

// FuzzParseURL feeds arbitrary text as DIGESTBOT_REDIS_URL: the parser must
// not panic, and must either refuse with EINVALID or give addresses.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379/0", "rediss://u:p@h:1", "a:1,b:2", "notaurl", "redis://[::1]:6379", ",", "redis://h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := Parse(in)
		if err != nil {
			if code := digestbot.ErrorCode(err); code != digestbot.EINVALID {
				t.Fatalf("Parse(%q): code %q", in, code)
			}
			return
		}
		if len(o.Addrs) == 0 {
			t.Fatalf("Parse(%q) accepted without an address", in)
		}
		for _, a := range o.Addrs {
			if a == "" {
				t.Fatalf("Parse(%q) gave an empty address", in)
			}
		}
	})
}

// TestRedactHidesEveryPassword: whatever the password holds, and whether
// or not the URL parses, what is shown never contains it.
func TestRedactHidesEveryPassword(t *testing.T) {
	tests := []struct{ in, secret, want string }{
		{"redis://user:hunter2@cache:6379/0", "hunter2", "redis://xxxxx@cache:6379/0"},
		{"redis://:pa/ss@cache:6379", "pa/ss", "redis://xxxxx@cache:6379"},
		{"redis://u:1234/ss@cache:6379", "1234/ss", "redis://xxxxx@cache:6379"},
		{"redis://u:p@ss@cache:6379", "p@ss", "redis://xxxxx@cache:6379"},
		{"redis://:pa,ss@cache:6379", "pa,ss", "redis://xxxxx,xxxxx@cache:6379"},
		{"redis://:s3cr,et,pw@cache:6379", "s3cr", "redis://xxxxx,xxxxx,xxxxx@cache:6379"},
		{"rediss://default:a1,b2,c3,d4@h1:7000,h2:7000", "b2", "rediss://xxxxx,xxxxx,xxxxx,xxxxx@h1:7000,h2:7000"},
		{"redis://:top@sec,ret@cache", "sec", "redis://xxxxx,xxxxx@cache"},
		{"rediss://:s3cret@n1:7000,rediss://:s3cret@n2:7000", "s3cret", "rediss://xxxxx@n1:7000,rediss://xxxxx@n2:7000"},
		{"redis://user:s3cretpw@host:badport/0", "s3cretpw", "redis://xxxxx@host:badport/0"},
		{"n1:7000,n2:7000", "", "n1:7000,n2:7000"},
	}
	for _, tc := range tests {
		got := Redact(tc.in)
		if got != tc.want || (tc.secret != "" && strings.Contains(got, tc.secret)) {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := Parse(tc.in); err != nil && tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("Parse(%q) error shows the password: %v", tc.in, err)
		}
	}
}

// TestPasswordsWithSlashesAndAts: a password is everything between the
// first ':' after "://" and the last '@', percent-decoded; errors about the
// rest of the address never quote any of it.
func TestPasswordsWithSlashesAndAts(t *testing.T) {
	o, err := Parse("redis://app:Zm9v/YmFy+@cache.internal:6380/1")
	if err != nil || o.Username != "app" || o.Password != "Zm9v/YmFy+" || o.Addrs[0] != "cache.internal:6380" || o.DB != 1 {
		t.Fatalf("base64 password: %+v, %v", o, err)
	}
	if o, err := Parse("redis://:p@ss%2Cw0rd@cache:6379"); err != nil || o.Password != "p@ss,w0rd" {
		t.Fatalf("password with '@' and an encoded comma: %+v, %v", o, err)
	}
	for _, in := range []string{"redis://u:9876/ss@cache:badport", "redis://u:9876/ss@cache:6379/xyz", "redis://u:9876/ss@:6379", "http://u:9876/ss@cache:6379", "redis://u:9876%zz@cache"} {
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q) accepted", in)
		}
		if strings.Contains(err.Error(), "9876") {
			t.Errorf("Parse(%q) error quotes the password: %v", in, err)
		}
	}
}

// FuzzRedact puts arbitrary text in the password of a URL, and of the
// first seed of a cluster list: neither Redact nor Parse's error shows it.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"hunter2!", "pa/ss,w@rd", "a,b,c,d,e", "s3cr,et@x,y", "%zz%%", "::::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if len(pw) < 6 || strings.ContainsAny(pw, "\x00\r\n") {
			return
		}
		for _, v := range []string{"redis://app:" + pw + "@cache.internal:6379/0", "rediss://app:" + pw + "@n1:7000,n2:7000"} {
			shown := Redact(v)
			if _, err := Parse(v); err != nil {
				shown += " " + err.Error()
			}
			if strings.Contains(shown, pw) && !strings.Contains(v[:strings.Index(v, ":"+pw)]+"xxxxx"+urlHelp, pw) {
				t.Fatalf("password %q shown in %q", pw, shown)
			}
		}
	})
}
