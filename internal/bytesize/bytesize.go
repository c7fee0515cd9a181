package bytesize

import "fmt"

// Format renders n as "8 MiB", "64 KiB" or "1000 bytes": in the largest binary unit that
// divides it exactly, so a limit reads as it is written in the documentation.
func Format(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
