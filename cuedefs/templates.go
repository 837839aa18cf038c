package cuedefs

import (
	"sync"

	"cuelang.org/go/cue"
)

// Compiled is a template compiled in a context of its own.
type Compiled struct {
	Ctx   *cue.Context
	Value cue.Value
	uses  int
}

// Templates keeps compiled templates by definition digest, so an execution
// only fills its parameters and evaluates. A cue.Context is not safe for
// concurrent use, so a compiled template serves one evaluation at a time:
// each digest keeps a few idle copies, and a copy is dropped after a number
// of evaluations so that its context's tables stay small. A copy holds
// its own instances of the op packages it imports (about 2 MiB), so the
// copies kept are bounded in all, not only per digest. The zero value is
// ready to use.
type Templates struct {
	mu    sync.Mutex
	idle  map[string][]*Compiled
	order []string // digests with idle copies, least recently used first
	count int      // idle copies in all
}

const (
	idleCopies      = 32  // idle copies kept in all
	idlePerTemplate = 4   // idle copies kept per digest
	usesPerCompiled = 100 // evaluations before a copy is dropped
)

// Take returns a compiled copy of d's template for one evaluation; give it
// back with Put.
func (t *Templates) Take(d Definition) (*Compiled, error) {
	t.mu.Lock()
	if copies := t.idle[d.Digest]; len(copies) > 0 {
		c := copies[len(copies)-1]
		t.idle[d.Digest] = copies[:len(copies)-1]
		t.count--
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	ctx := NewContext()
	v, err := Compile(ctx, d.Source, d.File, d.Line)
	if err != nil {
		return nil, err
	}
	return &Compiled{Ctx: ctx, Value: v}, nil
}

// Put gives a copy back after its evaluation.
func (t *Templates) Put(d Definition, c *Compiled) {
	c.uses++
	if c.uses >= usesPerCompiled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = map[string][]*Compiled{}
	}
	t.touch(d.Digest)
	if len(t.idle[d.Digest]) < idlePerTemplate {
		t.idle[d.Digest] = append(t.idle[d.Digest], c)
		t.count++
	}
	for t.count > idleCopies { // the least recently used digest's copies go
		t.count -= len(t.idle[t.order[0]])
		delete(t.idle, t.order[0])
		t.order = t.order[1:]
	}
}

// touch marks digest as the most recently used.
func (t *Templates) touch(digest string) {
	for i, d := range t.order {
		if d == digest {
			t.order = append(t.order[:i], t.order[i+1:]...)
			break
		}
	}
	t.order = append(t.order, digest)
}
