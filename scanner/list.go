package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tagflow/tagflow/internal/bytesize"
)

// TagRecorder is what Refresh writes to; *store.DB implements it.
type TagRecorder interface {
	PutTags(image string, tags []string, at time.Time) (changed bool, err error)
	PutScanError(image string, at time.Time, msg string) error
}

// List returns the tags of repo: every page of the tag list (PageSize tags a request,
// following the registry's Link headers), without the excluded tags, at most MaxTags of
// them. It sends nothing but tag-list requests (and, on the first call for a repository,
// the /v2/ ping and token exchange).
//
// The tags come back sorted in byte-wise lexical order, without duplicates. With MaxTags
// the kept tags are the first MaxTags in the order the registry served them, which is
// lexical order for registries that follow the distribution spec (docker-registry 2.x does
// not). A listing that fails part-way returns no tags, only the error.
//
// Each answer is decoded as it arrives and the reading stops at MaxTags, so a page of
// millions of tags costs no more than MaxTags of them (plus the transport's fixed buffer).
// All answers together may hold at most the scanner's tag-list limit (WithTagListLimit,
// 64 MiB by default); a registry that sends more fails the listing.
func (s *Scanner) List(ctx context.Context, repo Repository) ([]string, error) {
	const op = "listing tags of"
	if repo.PageSize < 0 || repo.MaxTags < 0 {
		return nil, s.fail(op, repo.Image, repo, nil, fmt.Errorf("%w: page size %d and tag cap %d must not be negative", ErrInvalidRepository, repo.PageSize, repo.MaxTags))
	}
	exclude, err := compileExcludes(repo.Exclude)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, nil, err)
	}
	ctx, cancel := repo.bound(ctx)
	defer cancel()
	p, err := s.prepare(ctx, repo)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, p, timedOut(ctx, err))
	}
	tags, err := listTags(ctx, p, repo, exclude, s.opts.tagListLimit)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, p, timedOut(ctx, err))
	}
	return tags, nil
}

// DefaultTagListLimit is the default of WithTagListLimit: the bytes of tag-list answers one
// listing reads, all pages together. 64 MiB is about 5 million tags of 10 characters,
// hundreds of times what the largest public repositories hold.
const DefaultTagListLimit = 64 << 20

// tagListBuffer is what the transport may buffer of a tag-list answer (see
// maxBufferedBody): the whole of nearly every tag list (1 MiB is some 50,000 tags), so
// that a connection cut mid-answer is retried, and little of a huge one.
const tagListBuffer = 1 << 20

// errTagListTooLarge: the registry's tag-list answers exceeded the listing's byte limit.
var errTagListTooLarge = errors.New("tag list too large")

// listTags reads the tag list page by page (GET /v2/<name>/tags/list?n=PageSize, then
// each page's Link header, as go-containerregistry's Lister does) through the scanner's
// authenticated transport. Each answer is decoded as a stream: no page is held whole, the
// reading stops at MaxTags, and all answers together may not exceed the byte limit.
func listTags(ctx context.Context, p *prepared, repo Repository, exclude []*regexp.Regexp, limit int64) ([]string, error) {
	client := &http.Client{Transport: p.rt, CheckRedirect: refusePrivateRedirect}
	next := &url.URL{
		Scheme: p.ref.Scheme(),
		Host:   p.ref.RegistryStr(),
		Path:   "/v2/" + p.ref.RepositoryStr() + "/tags/list",
	}
	if repo.PageSize > 0 {
		next.RawQuery = "n=" + strconv.Itoa(repo.PageSize)
	}
	// With MaxTags, duplicates must be dropped as the tags come, to count them; without,
	// sorting and compacting at the end is cheaper than a set of every tag.
	var seen map[string]struct{}
	if repo.MaxTags > 0 {
		seen = make(map[string]struct{}, min(repo.MaxTags, 1024))
	}
	tags := []string{}
	budget := &budgetReader{left: limit}
	done := false
	keep := func(tag string) bool {
		if excluded(tag, exclude) {
			return true
		}
		if seen != nil {
			if _, dup := seen[tag]; dup {
				return true
			}
			seen[tag] = struct{}{}
		}
		tags = append(tags, tag)
		done = repo.MaxTags > 0 && len(tags) == repo.MaxTags
		return !done
	}
	for next != nil && !done {
		var err error
		next, err = listPage(ctx, client, p.ref, next, budget, keep)
		if errors.Is(err, errTagListTooLarge) {
			return nil, fmt.Errorf("%w: the answers exceed %s; set maxTags to read only the first tags", errTagListTooLarge, bytesize.Format(limit))
		}
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(tags)
	if seen == nil {
		tags = slices.Compact(tags)
	}
	return slices.Clip(tags), nil
}

// listPage fetches one page of the tag list, hands its tags to keep, and returns the URL
// of the next page, or nil after the last one (or when keep stopped the reading).
func listPage(ctx context.Context, client *http.Client, ref name.Repository, u *url.URL, budget *budgetReader, keep func(string) bool) (*url.URL, error) {
	req, err := http.NewRequestWithContext(withBufferLimit(ctx, tagListBuffer), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	budget.r = resp.Body
	stopped := false
	err = decodeTagList(budget, func(tag string) bool {
		stopped = !keep(tag)
		return !stopped
	})
	if err != nil {
		if errors.Is(err, errTagListTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("decoding the tag list: %w", err)
	}
	if stopped {
		return nil, nil
	}
	base := u
	if resp.Request != nil && resp.Request.URL != nil {
		base = resp.Request.URL // after redirects
	}
	return nextPage(resp.Header.Get("Link"), base, ref)
}

// nextPage reads the URL of the next page from a Link header ("<URL>; rel=\"next\""),
// resolved against the page's URL. As go-containerregistry does, it does not look at rel,
// and it refuses a link to another scheme or host: a registry must not be able to send
// the scanner's credentials elsewhere.
func nextPage(link string, base *url.URL, ref name.Repository) (*url.URL, error) {
	if link == "" {
		return nil, nil
	}
	if link[0] != '<' {
		return nil, fmt.Errorf("parsing the Link header: no '<' in %q", link)
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return nil, fmt.Errorf("parsing the Link header: no '>' in %q", link)
	}
	if end == 1 {
		return nil, nil
	}
	u, err := url.Parse(link[1:end])
	if err != nil {
		return nil, fmt.Errorf("parsing the Link header: %w", err)
	}
	u = base.ResolveReference(u)
	if u.Scheme != ref.Scheme() || u.Host != ref.RegistryStr() {
		return nil, fmt.Errorf("the Link header points away from the registry, to %s://%s", u.Scheme, u.Host)
	}
	return u, nil
}

// refusePrivateRedirect follows at most 10 redirects of a tag-list request, and none from
// the registry to another host that is a loopback, private, link-local or unspecified
// address (or an IP address in an unusual notation), so that a registry cannot point the
// scanner at the node's own services.
func refusePrivateRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if len(via) == 0 || req.URL.Hostname() == via[0].URL.Hostname() {
		return nil
	}
	host := req.URL.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		addr = addr.WithZone("").Unmap()
		if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsUnspecified() {
			return fmt.Errorf("refusing a redirect to the private address %s", host)
		}
		return nil
	}
	if strings.Trim(host, "0123456789.xXabcdefABCDEF") == "" && strings.ContainsAny(host, "0123456789") {
		return fmt.Errorf("refusing a redirect to the numeric host %q", host)
	}
	return nil
}

// budgetReader reads from r until left bytes are spent, then fails with
// errTagListTooLarge, and keeps failing (json.Decoder.More drops a read error, so the
// next read must repeat it). One budget spans every page of a listing.
type budgetReader struct {
	r    io.Reader
	left int64
	over bool
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.over {
		return 0, errTagListTooLarge
	}
	if b.left <= 0 {
		// Tell a body that ends exactly at the limit from a longer one.
		var one [1]byte
		if n, err := b.r.Read(one[:]); n == 0 {
			return 0, err
		}
		b.over = true
		return 0, errTagListTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// decodeTagList reads one tag-list answer, {"name": "...", "tags": ["...", ...]}, token by
// token and calls keep with each tag in order until keep returns false; the rest of the
// answer is then left unread. As encoding/json would, it matches the "tags" key without
// regard to case, takes a null list or null answer as no tags, and ignores other keys and
// anything after the object. A tag that is not a string is an error, a null tag is
// skipped, and a second "tags" key is an error (decoding into a struct would keep the
// last list, which a stream cannot know in time).
func decodeTagList(r io.Reader, keep func(tag string) bool) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("the answer is %s, not an object", tokenKind(tok))
	}
	sawTags := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, "tags") {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		if sawTags {
			return errors.New(`the answer has two "tags" lists`)
		}
		sawTags = true
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		if tok == nil {
			continue
		}
		if tok != json.Delim('[') {
			return fmt.Errorf(`"tags" is %s, not a list`, tokenKind(tok))
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			switch tag := tok.(type) {
			case nil:
			case string:
				if !keep(tag) {
					return nil
				}
			default:
				return fmt.Errorf(`a tag is %s, not a string`, tokenKind(tok))
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return err
		}
	}
	_, err = dec.Token() // }
	return err
}

// skipValue reads past the value whose first token is next, holding no more of it than
// one token at a time.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

func compileExcludes(patterns []string) ([]*regexp.Regexp, error) {
	if patterns == nil {
		patterns = DefaultExclude
	}
	res := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrInvalidExclude, p, err)
		}
		res = append(res, re)
	}
	return res, nil
}

func excluded(tag string, exclude []*regexp.Regexp) bool {
	for _, re := range exclude {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}

// Refresh lists repo and records the result under its canonical name (CanonicalName):
// PutTags with the tags, or, when the listing fails, PutScanError with the error's message
// and the error returned. A failed or partial listing never reaches PutTags, so the tags
// recorded before stay. changed is what PutTags reports. An image name that does not
// parse has no key to record under: Refresh only returns that error.
func (s *Scanner) Refresh(ctx context.Context, rec TagRecorder, repo Repository) (changed bool, err error) {
	key, err := CanonicalName(repo.Image)
	if err != nil {
		return false, s.fail("listing tags of", repo.Image, repo, nil, err)
	}
	tags, err := s.List(ctx, repo)
	at := time.Now()
	if err != nil {
		if rerr := rec.PutScanError(key, at, err.Error()); rerr != nil {
			return false, fmt.Errorf("%w (and recording that failed: %w)", err, newError("recording the scan error of", repo.Image, rerr, nil))
		}
		return false, err
	}
	changed, err = rec.PutTags(key, tags, at)
	if err != nil {
		return false, newError("recording tags of", repo.Image, err, nil)
	}
	return changed, nil
}
