//go:build unix

package subscriptions_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used: on a shared machine
// it measures the work itself where wall time also counts waiting.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
