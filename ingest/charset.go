package ingest

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// xmlDeclEncoding finds the encoding pseudo-attribute of an XML declaration.
var xmlDeclEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// headerCharset returns the charset parameter of a Content-Type value, or "".
func headerCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(params["charset"]))
}

// isUTF8Label reports whether a charset label names UTF-8 (or US-ASCII, its
// subset).
func isUTF8Label(label string) bool {
	switch strings.ToLower(label) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// prepareXML makes XML feed bytes readable by the XML decoder, which
// converts a charset declared in the XML declaration itself. When the
// document declares none, the HTTP charset is applied here (RFC 7303 gives
// it precedence over guessing), and bytes that are not UTF-8 without any
// declaration are read as Windows-1252, the usual culprit.
func prepareXML(data []byte, contentType string) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	head := data
	if len(head) > 512 {
		head = head[:512]
	}
	if m := xmlDeclEncoding.FindSubmatch(head); m != nil {
		return data, nil // the decoder converts it
	}
	label := headerCharset(contentType)
	if isUTF8Label(label) {
		if utf8.Valid(data) {
			return data, nil
		}
		label = "windows-1252"
	}
	return decodeLabel(data, label)
}

// fromUTF16 converts a document that starts with a UTF-16 byte order mark
// to UTF-8 (removing the encoding its XML declaration names, now wrong);
// other input is returned as is. Detection and both parsers expect bytes
// that are ASCII-compatible.
func fromUTF16(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte{0xFE, 0xFF}) && !bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return data, nil
	}
	dec := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	out, _, err := transform.Bytes(unicode.BOMOverride(dec), data)
	if err != nil {
		return nil, err
	}
	return dropDeclEncoding(out), nil
}

// decodeText returns plain-text bytes as UTF-8: the HTTP charset when given,
// UTF-8 when valid, else Windows-1252.
func decodeText(data []byte, contentType string) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	label := headerCharset(contentType)
	if isUTF8Label(label) {
		if utf8.Valid(data) {
			return data, nil
		}
		label = "windows-1252"
	}
	return decodeLabel(data, label)
}

func decodeLabel(data []byte, label string) ([]byte, error) {
	enc, _ := charset.Lookup(label)
	if enc == nil {
		return nil, &charsetError{label}
	}
	if enc == encoding.Nop {
		return data, nil
	}
	out, _, err := transform.Bytes(enc.NewDecoder(), data)
	return out, err
}

type charsetError struct{ label string }

func (e *charsetError) Error() string { return "unknown charset " + e.label }

// dropDeclEncoding removes the encoding from the XML declaration of a
// document that was already converted to UTF-8.
func dropDeclEncoding(data []byte) []byte {
	head := data
	if len(head) > 512 {
		head = head[:512]
	}
	loc := xmlDeclEncoding.FindSubmatchIndex(head)
	if loc == nil {
		return data
	}
	// Remove ` encoding="..."`: from the space before "encoding" to the closing quote.
	start := bytes.LastIndex(data[:loc[2]], []byte("encoding"))
	for start > 0 && (data[start-1] == ' ' || data[start-1] == '\t' || data[start-1] == '\n' || data[start-1] == '\r') {
		start--
	}
	end := loc[3] + 1
	out := make([]byte, 0, len(data))
	out = append(out, data[:start]...)
	return append(out, data[end:]...)
}
