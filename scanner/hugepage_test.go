package scanner_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// hugeRegistry speaks just enough of the distribution API for a listing: GET /v2/ and GET
// /v2/acme/huge/tags/list, whose answer is one page of n tags written while they are
// generated, so the test never holds the page. The tags come in a scrambled order (tag i
// is hugeTag(i*7919 mod n)), so that "the first MaxTags served" differs from "the first
// MaxTags in lexical order". written counts the bytes of tag lists that reached the
// connection.
type hugeRegistry struct {
	srv     *httptest.Server
	image   string
	n       int
	written atomic.Int64
}

const hugeStride = 7919 // a prime that divides none of the sizes used

func hugeTag(i int) string { return "t" + leftPad(strconv.Itoa(i), 7) }

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// hugeServed returns the first k tags that hugeRegistry serves, in served order.
func hugeServed(n, k int) []string {
	tags := make([]string, 0, k)
	for i := range k {
		tags = append(tags, hugeTag(i*hugeStride%n))
	}
	return tags
}

func newHugeRegistry(t testing.TB, n int) *hugeRegistry {
	t.Helper()
	h := &hugeRegistry{n: n}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}"))
		case "/v2/acme/huge/tags/list":
			w.Header().Set("Content-Type", "application/json")
			cw := &countingWriter{w: w, n: &h.written}
			bw := bufio.NewWriterSize(cw, 64<<10)
			bw.WriteString(`{"name":"acme/huge","tags":[`)
			for i := range h.n {
				if i > 0 {
					bw.WriteByte(',')
				}
				bw.WriteByte('"')
				bw.WriteString(hugeTag(i * hugeStride % h.n))
				if _, err := bw.Write([]byte{'"'}); err != nil {
					return // the client hung up
				}
			}
			bw.WriteString("]}")
			bw.Flush()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	h.image = strings.TrimPrefix(h.srv.URL, "http://") + "/acme/huge"
	return h
}

type countingWriter struct {
	w http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// allocated runs fn and returns the bytes the process allocated meanwhile (TotalAlloc),
// the in-process server's included.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestListHugePage is the hostile registry of issue 12: one page of 5,000,000 tags (52.5
// MiB of JSON). With MaxTags 1000 the scanner keeps exactly the first 1000 tags served
// and stops reading: what it allocates is bounded by the transport's buffer and the cap,
// not by the page. Decoding the page whole allocated 681 MiB; streaming allocates about 5
// MiB (about 21 MiB under the race detector, whose pools keep less), well under the bound.
func TestListHugePage(t *testing.T) {
	if testing.Short() {
		t.Skip("serves a 55 MB tag list")
	}
	const n = 5_000_000
	reg := newHugeRegistry(t, n)
	s := fast()
	var got []string
	var err error
	alloc := allocated(func() {
		got, err = s.List(context.Background(), scanner.Repository{Image: reg.image, MaxTags: 1000})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := hugeServed(n, 1000)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("List returned %d tags from %q to %q, want the first 1000 served (%q to %q)", len(got), first(got), last(got), want[0], want[999])
	}
	t.Logf("allocated %.1f MiB; the server wrote %.1f MiB of the %.1f MiB page", mib(alloc), mib(uint64(reg.written.Load())), mib(uint64(n*11)))
	if limit := uint64(64 << 20); alloc > limit {
		t.Errorf("List allocated %.0f MiB for 1000 tags of a huge page, want at most %.0f MiB", mib(alloc), mib(limit))
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// BenchmarkListHugePage lists a single page of 5,000,000 tags (52.5 MiB of JSON) and
// reports the bytes allocated per List (the in-process server's included): with MaxTags
// 1000, and with no cap, which keeps all 5 million tags.
func BenchmarkListHugePage(b *testing.B) {
	const n = 5_000_000
	reg := newHugeRegistry(b, n)
	for _, tc := range []struct {
		name    string
		maxTags int
	}{{"maxTags=1000", 1000}, {"all", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			s := fast()
			repo := scanner.Repository{Image: reg.image, MaxTags: tc.maxTags}
			var total uint64
			for b.Loop() {
				total += allocated(func() {
					if _, err := s.List(context.Background(), repo); err != nil {
						b.Fatal(err)
					}
				})
			}
			b.ReportMetric(float64(total)/float64(b.N)/(1<<20), "MiB-alloc/op")
		})
	}
}

// TestTagListLimit: the bytes of tag-list answers one listing reads are bounded, all pages
// together, and a registry that sends more fails the listing with one line naming the
// image and the limit, whatever the shape of the excess: one huge page, many pages, or a
// Link header that points at the same page forever.
func TestTagListLimit(t *testing.T) {
	const pageBytes = 28 + 2 + 100_000*11 - 1 // {"name":"acme/huge","tags":[ … ]}
	huge := newHugeRegistry(t, 100_000)

	paged := newRegistry(t)
	paged.seed(t, "acme/web", testbed.NumberedTags("v", 1000)) // 10 pages of about 660 bytes

	var loops atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		loops.Add(1)
		w.Header().Set("Link", `<`+r.URL.Path+`?n=2>; rel="next"`)
		w.Write([]byte(`{"name":"acme/loop","tags":["a","b"]}`))
	}))
	t.Cleanup(loop.Close)

	for _, tc := range []struct {
		name    string
		image   string
		repo    scanner.Repository
		limit   int64
		wantErr string // "": the listing succeeds
		wantN   int
	}{
		{name: "a page exactly at the limit", image: huge.image, limit: pageBytes, wantN: 100_000},
		{name: "a page one byte over", image: huge.image, limit: pageBytes - 1, wantErr: "listing tags of IMAGE: tag list too large: the answers exceed 1100028 bytes; set maxTags to read only the first tags"},
		{name: "MaxTags stops before the limit", image: huge.image, repo: scanner.Repository{MaxTags: 10}, limit: 64 << 10, wantN: 10},
		{name: "the limit spans pages", image: paged.image("acme/web"), repo: scanner.Repository{PageSize: 100}, limit: 4 << 10, wantErr: "listing tags of IMAGE: tag list too large: the answers exceed 4 KiB; set maxTags to read only the first tags"},
		{name: "pages within the limit", image: paged.image("acme/web"), repo: scanner.Repository{PageSize: 100}, limit: 64 << 10, wantN: 1000},
		{name: "a Link loop ends at the limit", image: strings.TrimPrefix(loop.URL, "http://") + "/acme/loop", limit: 10_000, wantErr: "listing tags of IMAGE: tag list too large: the answers exceed 10000 bytes; set maxTags to read only the first tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := tc.repo
			repo.Image = tc.image
			got, err := fast(scanner.WithTagListLimit(tc.limit)).List(context.Background(), repo)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.wantN {
					t.Errorf("%d tags, want %d", len(got), tc.wantN)
				}
				return
			}
			if want := strings.ReplaceAll(tc.wantErr, "IMAGE", tc.image); err == nil || err.Error() != want {
				t.Fatalf("List error %v, want %q", err, want)
			}
			if got != nil {
				t.Errorf("a failed listing returned %d tags", len(got))
			}
			var se *scanner.Error
			if !errors.As(err, &se) || se.Temporary() {
				t.Errorf("error %v: want a *scanner.Error that is not temporary", err)
			}
		})
	}
	if n := loops.Load(); n < 100 || n > 400 {
		t.Errorf("the Link loop was followed %d times; 10,000 bytes of 37-byte pages is about 270", n)
	}
}

// TestListLinks: the Link header is followed as go-containerregistry's Lister follows it,
// and a link or redirect that leaves the registry is refused.
func TestListLinks(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"tags":["stolen"]}`))
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		name    string
		link    string // the first page's Link header; the second page has none
		status  int    // a redirect status for the first page, with link as Location
		want    []string
		wantErr string
	}{
		{name: "relative link", link: `</v2/acme/web/tags/list?last=a>; rel="next"`, want: []string{"a", "b"}},
		{name: "absolute link to the registry", link: `<SELF/v2/acme/web/tags/list?last=a>; rel="next"`, want: []string{"a", "b"}},
		{name: "empty link ends the listing", link: `<>; rel="next"`, want: []string{"a"}},
		{name: "link to another host", link: `<OTHER/v2/acme/web/tags/list>; rel="next"`, wantErr: "the Link header points away from the registry, to http://OTHERHOST"},
		{name: "link without brackets", link: `/v2/acme/web/tags/list; rel="next"`, wantErr: `parsing the Link header: no '<' in "/v2/acme/web/tags/list; rel=\"next\""`},
		{name: "unclosed link", link: `</v2/acme/web/tags/list`, wantErr: `parsing the Link header: no '>' in`},
		{name: "redirect to a private address", status: http.StatusFound, link: `OTHER/v2/acme/web/tags/list`, wantErr: "refusing a redirect to the private address 127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var self string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					return
				}
				link := strings.ReplaceAll(strings.ReplaceAll(tc.link, "SELF", self), "OTHER", other.URL)
				if tc.status != 0 {
					http.Redirect(w, r, link, tc.status)
					return
				}
				if r.URL.Query().Get("last") == "a" {
					w.Write([]byte(`{"name":"acme/web","tags":["b"]}`))
					return
				}
				w.Header().Set("Link", link)
				w.Write([]byte(`{"name":"acme/web","tags":["a"]}`))
			}))
			t.Cleanup(srv.Close)
			// Named "localhost", so that 127.0.0.1 is another host.
			self = "http://localhost:" + strings.Split(srv.URL, ":")[2]
			image := strings.TrimPrefix(self, "http://") + "/acme/web"
			got, err := fast().List(context.Background(), scanner.Repository{Image: image})
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "OTHERHOST", strings.TrimPrefix(other.URL, "http://"))
				if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "listing tags of "+image+": ") {
					t.Fatalf("List = %v, %v; want an error with %q", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List = %q, want %q", got, tc.want)
			}
		})
	}
}
