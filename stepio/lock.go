package stepio

// Concurrency locks (spec.concurrency): one lock workflow per key
// serializes the runs that share it.
const (
	// AcquireLockName is the activity with which a run asks the key's lock
	// workflow for the key, starting that workflow if need be.
	AcquireLockName = "AcquireLock"
	// HolderAliveName is the local activity a lock checks a holder with.
	HolderAliveName = "LockHolderAlive"
	// TerminateHolderName is the local activity that ends a holder the
	// Replace policy replaces.
	TerminateHolderName = "LockTerminateHolder"
	// LockName is the lock workflow's type; start it with ID LockID(key).
	LockName = "VelaflowLock"
	// UpdateAcquire asks a lock for its key: AcquireArgs.
	UpdateAcquire = "acquire"
)

// LockID is the workflow ID of a key's lock.
func LockID(key string) string { return "velaflow-lock/" + key }

// LockState is what a lock carries across continue-as-new.
type LockState struct {
	Key    string       `json:"key"`
	Holder *LockHolder  `json:"holder,omitempty"`
	Queue  []LockHolder `json:"queue,omitempty"`
}

// AcquireArgs is the acquire update's argument.
type AcquireArgs struct {
	Holder LockHolder `json:"holder"`
	Policy string     `json:"policy"`
}

// LockHolder is a run as a lock knows it: its workflow ID and the first
// run ID of its executions (a later run of the same name is another).
type LockHolder struct {
	WorkflowID string `json:"workflowID"`
	Chain      string `json:"chain"`
}

// AcquireRequest asks the key's lock for the key.
type AcquireRequest struct {
	Key    string     `json:"key"`
	Holder LockHolder `json:"holder"`
	Policy string     `json:"policy"`
	// TaskQueue is where the lock workflow runs (the run's own).
	TaskQueue string `json:"taskQueue"`
}

// LockAnswer is the lock's answer to an acquire, and the news it sends a
// waiting run (the signal LockNewsSignal).
type LockAnswer struct {
	Granted  bool `json:"granted,omitempty"`
	Rejected bool `json:"rejected,omitempty"`
	// Holder is the run that holds the key (when not granted), and
	// Position the run's place in line (1: next).
	Holder   string `json:"holder,omitempty"`
	Position int    `json:"position,omitempty"`
}
