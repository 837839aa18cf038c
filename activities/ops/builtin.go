package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cuelang.org/go/cue"
)

// builtinOps steer the step: wait, suspend, fail, break, message, var.
// All are pure: they compute from the template's values.
func builtinOps() []Op {
	return pure([]Op{
		{Provider: "builtin", Do: "wait", Run: wait},
		{Provider: "builtin", Do: "suspend", Run: suspend},
		{Provider: "builtin", Do: "fail", Run: func(_ context.Context, c *Call) (any, error) {
			msg := message(c.Args)
			c.Outcome.update(func(o *Outcome) { o.Fail, o.Message = true, msg })
			return nil, nil
		}},
		{Provider: "builtin", Do: "break", Run: func(_ context.Context, c *Call) (any, error) {
			msg := message(c.Args)
			c.Outcome.update(func(o *Outcome) {
				o.Break = true
				if msg != "" {
					o.Message = msg
				}
			})
			return nil, nil
		}},
		{Provider: "builtin", Do: "var", Run: doVar},
		{Provider: "builtin", Do: "message", Run: func(_ context.Context, c *Call) (any, error) {
			msg := message(c.Args)
			c.Outcome.update(func(o *Outcome) { o.Message = msg })
			return nil, nil
		}},
	})
}

func wait(_ context.Context, c *Call) (any, error) {
	var args struct {
		Continue bool   `json:"continue"`
		Message  string `json:"message"`
	}
	err := c.Decode(&args)
	var incomplete IncompleteError
	if errors.As(err, &incomplete) {
		// A condition over a field that is not there yet does not hold yet.
		c.Outcome.update(func(o *Outcome) {
			o.Wait = true
			o.Message = "waiting: " + incomplete.Error()
		})
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !args.Continue {
		c.Outcome.update(func(o *Outcome) {
			o.Wait = true
			if args.Message != "" {
				o.Message = args.Message
			}
		})
	}
	return nil, nil
}

func suspend(_ context.Context, c *Call) (any, error) {
	var args struct {
		Duration string `json:"duration"`
		Message  string `json:"message"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	if args.Duration != "" {
		if _, err := time.ParseDuration(args.Duration); err != nil {
			return nil, RenderingError{fmt.Errorf("suspend duration %q: %w", args.Duration, err)}
		}
	}
	if c.Resumed {
		return nil, nil // the suspension this step asked for is over
	}
	c.Outcome.update(func(o *Outcome) {
		o.Suspend, o.Duration = true, args.Duration
		if args.Message != "" {
			o.Message = args.Message
		}
	})
	return nil, nil
}

func message(args cue.Value) string {
	s, _ := args.LookupPath(messagePath).String()
	return s
}

// messagePath is parsed once: parsing a path costs more than the lookup.
var messagePath = cue.MakePath(cue.Str("message"))

// doVar reads (Get) or writes (Put) a variable of the run, by a dotted
// path. A Get of a variable never written returns no value.
func doVar(_ context.Context, c *Call) (any, error) {
	var args struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Value  any    `json:"value"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	if args.Path == "" {
		return nil, RenderingError{fmt.Errorf("path is empty")}
	}
	if c.Env == nil || c.Env.Vars == nil {
		return nil, RenderingError{fmt.Errorf("variables are not available here")}
	}
	switch args.Method {
	case "Put":
		if args.Value == nil {
			return nil, RenderingError{fmt.Errorf("put %s: value is missing", args.Path)}
		}
		c.Env.Vars.Put(args.Path, args.Value)
		return map[string]any{"value": args.Value}, nil
	default:
		if v, ok := c.Env.Vars.Get(args.Path); ok {
			return map[string]any{"value": v}, nil
		}
		return nil, nil
	}
}
