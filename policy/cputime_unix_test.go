//go:build unix

package policy

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system. On a shared machine
// it is a steadier figure than wall time, which counts the time spent waiting for a core.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
