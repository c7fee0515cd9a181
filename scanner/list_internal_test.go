package scanner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestDecodeTagList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		max     int // stop after this many tags; 0: read all
		want    []string
		wantErr string
	}{
		{name: "distribution answer", in: `{"name":"acme/web","tags":["1.0","1.1","latest"]}`, want: []string{"1.0", "1.1", "latest"}},
		{name: "keys in any order, unknown keys skipped", in: `{"tags":["a"],"name":"x","extra":{"deep":[1,{"tags":["no"]}]}}`, want: []string{"a"}},
		{name: "key matched without regard to case", in: `{"Tags":["a","b"]}`, want: []string{"a", "b"}},
		{name: "null answer", in: `null`, want: nil},
		{name: "null list", in: `{"name":"x","tags":null}`, want: nil},
		{name: "no list", in: `{"name":"x"}`, want: nil},
		{name: "null tag skipped", in: `{"tags":["a",null,"b"]}`, want: []string{"a", "b"}},
		{name: "trailing data ignored", in: `{"tags":["a"]} garbage`, want: []string{"a"}},
		{name: "stops at the cap", in: `{"tags":["c","a","b"`, max: 2, want: []string{"c", "a"}},
		{name: "not an object", in: `["a"]`, wantErr: "the answer is a list, not an object"},
		{name: "tags not a list", in: `{"tags":"a"}`, wantErr: `"tags" is a string, not a list`},
		{name: "tag not a string", in: `{"tags":["a",7]}`, wantErr: "a tag is a number, not a string"},
		{name: "two lists", in: `{"tags":["a"],"TAGS":["b"]}`, wantErr: `the answer has two "tags" lists`},
		{name: "cut short", in: `{"tags":["a","b`, wantErr: "unexpected EOF"},
		{name: "empty", in: ``, wantErr: "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := decodeTagList(strings.NewReader(tc.in), func(tag string) bool {
				got = append(got, tag)
				return tc.max == 0 || len(got) < tc.max
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("tags %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDecodeTagListStopsReading: once keep says stop, nothing more is read: a page of any
// size costs what its first tags cost.
func TestDecodeTagListStopsReading(t *testing.T) {
	var page bytes.Buffer
	page.WriteString(`{"name":"acme/web","tags":[`)
	for i := range 100_000 {
		if i > 0 {
			page.WriteByte(',')
		}
		page.WriteString(`"v` + strings.Repeat("9", 20) + `"`)
	}
	page.WriteString("]}")
	total := page.Len()
	r := &countingReader{r: &page}
	n := 0
	if err := decodeTagList(r, func(string) bool { n++; return n < 10 }); err != nil {
		t.Fatal(err)
	}
	if r.n > 4096 {
		t.Errorf("read %d of %d bytes for 10 tags", r.n, total)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestBudgetReader(t *testing.T) {
	const body = `{"tags":["a","b"]}`
	for limit := int64(1); limit <= int64(len(body))+1; limit++ {
		err := decodeTagList(&budgetReader{r: strings.NewReader(body), left: limit}, func(string) bool { return true })
		if over := limit < int64(len(body)); over != errors.Is(err, errTagListTooLarge) {
			t.Errorf("limit %d for %d bytes: error %v", limit, len(body), err)
		}
	}
}

// FuzzTagListDecode: the streaming decoder never panics, and wherever encoding/json decodes
// an answer into go-containerregistry's shape it finds the same tags (null tags aside,
// which encoding/json turns into empty strings), or refuses a second "tags" list.
func FuzzTagListDecode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"acme/web","tags":["1.0","1.1","latest"]}`,
		`{"name":"acme/web","tags":[]}`,
		`{"name":"acme/web","tags":null}`,
		`{"tags":["a",null,""],"TAGS":["b"]}`,
		`{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}`,
		`null`,
		`{"tags":["a\u0000b","\ud800"],"next":"x","name":{"a":[1,2,{"b":null}]}}`,
		`[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got []string
		err := decodeTagList(bytes.NewReader(in), func(tag string) bool {
			got = append(got, tag)
			return true
		})
		var std struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
			Next string   `json:"next,omitempty"`
		}
		if json.NewDecoder(bytes.NewReader(in)).Decode(&std) != nil {
			return
		}
		if err != nil {
			if !strings.Contains(err.Error(), `two "tags" lists`) {
				t.Fatalf("encoding/json decodes %q, the stream fails: %v", in, err)
			}
			return
		}
		nonEmpty := func(s []string) []string {
			return slices.DeleteFunc(slices.Clone(s), func(t string) bool { return t == "" })
		}
		if !slices.Equal(nonEmpty(got), nonEmpty(std.Tags)) {
			t.Fatalf("tags of %q: stream %q, encoding/json %q", in, got, std.Tags)
		}
	})
}
