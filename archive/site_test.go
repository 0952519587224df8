package archive_test

import (
	"context"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// TestSearchRefusesSite: the index does not hold the links' domains, so a
// site: lookup is refused with a reason rather than searched as words.
func TestSearchRefusesSite(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, loadFixtures(t))
		for _, q := range []string{"site:example.org", "lighthouse -site:example.org"} {
			_, err := b.idx.Search(context.Background(), archive.Request{Query: q})
			if digestbot.ErrorCode(err) != digestbot.EINVALID || !strings.Contains(digestbot.ErrorMessage(err), "cannot search by site:") {
				t.Errorf("%s: %v, want a refusal that names site:", q, err)
			}
		}
	})
}
