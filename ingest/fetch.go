package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// Fetcher defaults.
const (
	DefaultFetchTimeout   = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxBodyBytes   = 10 << 20
	DefaultUserAgent      = "digestbot (+https://github.com/digestbot/digestbot)"
	MaxRedirects          = 5
)

// FetcherOptions configure a Fetcher; zero values take the defaults.
type FetcherOptions struct {
	// AllowPrivate lets requests reach loopback, private, link-local and
	// other internal addresses (DIGESTBOT_ALLOW_PRIVATE_FEEDS=true).
	AllowPrivate bool
	// Timeout bounds one fetch from connecting to the last body byte.
	Timeout time.Duration
	// ConnectTimeout bounds establishing the TCP connection.
	ConnectTimeout time.Duration
	// MaxBodyBytes caps the (decompressed) body; larger feeds fail with ELIMIT.
	MaxBodyBytes int64
	// UserAgent names the bot and its version, e.g. "digestbot/1.2 (+URL)".
	UserAgent string
}

// Fetcher is the HTTP client for feeds, safe to point at URLs that users
// supply: only http and https, at most MaxRedirects redirects, a body cap,
// timeouts, and — unless AllowPrivate — no connection to an internal
// address. The address is checked when the connection is made (after DNS
// resolution, for every redirect hop), so neither DNS rebinding nor a
// redirect to 127.0.0.1 gets through. It is safe for concurrent use.
type Fetcher struct {
	client *http.Client
	opts   FetcherOptions
}

// NewFetcher returns a Fetcher with opts (defaults filled in).
func NewFetcher(opts FetcherOptions) *Fetcher {
	return newFetcher(opts, func(ap netip.AddrPort) bool { return IsInternalAddr(ap.Addr()) })
}

// newFetcher takes the refusal rule as a parameter so that tests on
// loopback can refuse one loopback server and allow another.
func newFetcher(opts FetcherOptions, refused func(netip.AddrPort) bool) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultFetchTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	dialer := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			return checkAddress(address, refused)
		}
	}
	tr := &http.Transport{
		// No proxy from the environment: a proxy would make the connection
		// for us, out of the guard's sight.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.Timeout,
	}
	client := &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return &redirectError{fmt.Sprintf("more than %d redirects", MaxRedirects)}
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &redirectError{fmt.Sprintf("redirect to a %s URL", req.URL.Scheme)}
			}
			return nil
		},
	}
	return &Fetcher{client: client, opts: opts}
}

// FetchRequest is one conditional GET.
type FetchRequest struct {
	URL          string
	ETag         string // sent as If-None-Match
	LastModified string // sent as If-Modified-Since
}

// FetchResult is a successful fetch: 200 with a body, or 304.
type FetchResult struct {
	URL          string // after redirects
	StatusCode   int
	NotModified  bool // 304: nothing changed since ETag/LastModified
	Body         []byte
	ContentType  string
	ETag         string
	LastModified string
}

// HTTPError is a response that is neither 2xx nor 304. It is the cause of
// the EUNAVAILABLE (5xx, 429) or EINVALID (other 4xx) error Fetch returns.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
	// RetryAfter is the server's Retry-After delay (0 when absent).
	RetryAfter time.Duration
}

// Error says which URL answered what.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s answered %s", e.URL, e.Status)
}

// PrivateAddressError is the cause of the EFORBIDDEN error for a connection
// to an internal address.
type PrivateAddressError struct{ Addr string }

// Error names the refused address.
func (e *PrivateAddressError) Error() string {
	return fmt.Sprintf("address %s is internal (loopback, private, link-local or reserved)", e.Addr)
}

type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// Fetch performs a GET of req.URL, conditional when ETag or LastModified
// is set. It returns *digestbot.Error values: EINVALID for a bad URL or a
// 4xx answer, EFORBIDDEN for an internal address, ELIMIT for a body over
// the cap, EUNAVAILABLE for network errors, timeouts, 5xx and 429 (the
// *HTTPError cause carries Retry-After).
func (f *Fetcher) Fetch(ctx context.Context, req FetchRequest) (*FetchResult, error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "%q is not an http or https URL", req.URL)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "%q is not a valid URL", req.URL)
	}
	hreq.Header.Set("User-Agent", f.opts.UserAgent)
	hreq.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/plain;q=0.7, */*;q=0.5")
	if req.ETag != "" {
		hreq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hreq.Header.Set("If-Modified-Since", req.LastModified)
	}
	resp, err := f.client.Do(hreq)
	if err != nil {
		return nil, f.transportError(req.URL, err)
	}
	defer resp.Body.Close()
	res := &FetchResult{
		URL:          resp.Request.URL.String(),
		StatusCode:   resp.StatusCode,
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.NotModified = true
		if res.ETag == "" {
			res.ETag = req.ETag
		}
		if res.LastModified == "" {
			res.LastModified = req.LastModified
		}
		return res, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		he := &HTTPError{URL: req.URL, StatusCode: resp.StatusCode, Status: resp.Status}
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			he.RetryAfter = d
		}
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		code := digestbot.EUNAVAILABLE
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			code = digestbot.EINVALID
		}
		return nil, digestbot.WrapError(code, he, "%s answered %s", req.URL, resp.Status)
	}
	if resp.ContentLength > f.opts.MaxBodyBytes {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "%s: the feed is %d bytes, more than the limit of %d", req.URL, resp.ContentLength, f.opts.MaxBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, f.transportError(req.URL, err)
	}
	if int64(len(body)) > f.opts.MaxBodyBytes {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "%s: the feed is larger than the limit of %d bytes", req.URL, f.opts.MaxBodyBytes)
	}
	res.Body = body
	return res, nil
}

// transportError classifies a failure before or while reading a response.
func (f *Fetcher) transportError(rawURL string, err error) error {
	var pe *PrivateAddressError
	if errors.As(err, &pe) {
		return digestbot.WrapError(digestbot.EFORBIDDEN, pe,
			"%s: refused to connect to %s, an internal address; set DIGESTBOT_ALLOW_PRIVATE_FEEDS=true to allow internal feeds", rawURL, pe.Addr)
	}
	var re *redirectError
	if errors.As(err, &re) {
		return digestbot.WrapError(digestbot.EINVALID, err, "%s: %s", rawURL, re.msg)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "%s: timed out", rawURL)
	}
	if errors.Is(err, context.Canceled) {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "%s: fetch cancelled", rawURL)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "%s: cannot fetch: the host name %s does not resolve", rawURL, dnsErr.Name)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		// The cause (refused, reset, unreachable) is what the user needs; it holds no secret.
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "%s: cannot fetch: %v", rawURL, opErr.Err)
	}
	return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "%s: cannot fetch", rawURL)
}

// checkAddress runs in the dialer's Control hook, which sees the resolved
// address of every connection (each redirect hop, each DNS answer) just
// before it is made, and refuses the ones the rule rejects.
func checkAddress(address string, refused func(netip.AddrPort) bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &PrivateAddressError{Addr: address}
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if refused(ap) {
		return &PrivateAddressError{Addr: ap.Addr().String()}
	}
	return nil
}

// internalPrefixes are ranges a feed must not reach besides what netip's
// predicates cover.
var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 address
}

// IsInternalAddr reports whether ip is loopback, private (RFC 1918, fc00::/7),
// link-local, CGNAT, multicast, unspecified or otherwise reserved: an
// address a feed URL must not make the bot connect to.
func IsInternalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date
// (relative to now). ok is false when v is empty or unreadable; a date in
// the past gives 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(365 * 24 * 3600)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}
