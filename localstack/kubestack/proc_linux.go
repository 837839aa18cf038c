package kubestack

import "syscall"

// sysProcAttr puts a child in its own process group (so Stop signals it and
// anything it started) and kills it if the process that started it dies
// without calling Stop (a test binary that panics or times out).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
