//go:build unix && !linux

package kubestack

import "syscall"

// sysProcAttr puts a child in its own process group, so Stop signals it and
// anything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
