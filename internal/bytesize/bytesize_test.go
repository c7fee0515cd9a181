package bytesize

import "testing"

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1000, "1000 bytes"}, {1 << 10, "1 KiB"}, {64 << 10, "64 KiB"},
		{1<<20 + 1, "1048577 bytes"}, {8 << 20, "8 MiB"}, {3 << 19, "1536 KiB"},
	} {
		if got := Format(tc.n); got != tc.want {
			t.Errorf("Format(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
