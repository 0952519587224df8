package ingest

import (
	"net/url"
	"strings"

	digestbot "github.com/digestbot/digestbot"
)

// CanonicalURL returns the canonical form of an http(s) URL, resolved
// against base when it is relative (base may be empty): scheme and host
// lower-cased, the default port and the fragment dropped, utm_* tracking
// parameters removed (the rest of the query keeps its order), an empty path
// written as "/". ok is false when raw is not an absolute http or https URL
// after resolution, or is longer than digestbot.MaxURLLen.
func CanonicalURL(raw, base string) (canonical string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if !u.IsAbs() && base != "" {
		b, err := url.Parse(base)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") {
			return "", false
		}
		u = b.ResolveReference(u)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	if u.RawQuery != "" {
		u.RawQuery = dropTracking(u.RawQuery)
	}
	u.ForceQuery = false
	s := u.String()
	if len(s) > digestbot.MaxURLLen {
		return "", false
	}
	return s, true
}

// dropTracking removes utm_* parameters from a raw query without
// re-encoding or reordering the others (which would change the URL's
// identity for servers that care).
func dropTracking(q string) string {
	parts := strings.Split(q, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p == "" {
			continue
		}
		key := p
		if i := strings.IndexByte(p, '='); i >= 0 {
			key = p[:i]
		}
		if strings.HasPrefix(strings.ToLower(key), "utm_") {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}
