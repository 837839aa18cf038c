package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/velaflow/velaflow/stepio"
)

// MirrorStatus writes a run's status into the WorkflowRun object it came
// from, with one JSON patch of the status subresource: a test of the
// object's UID (a re-created object of the same name is another run's),
// then the fields that changed since the run's last write. A field the run
// did not change keeps whatever an operator wrote into it meanwhile.
func (a *Activities) MirrorStatus(ctx context.Context, in stepio.MirrorInput) (stepio.MirrorResult, error) {
	if a.Registry == nil {
		return stepio.MirrorResult{}, errors.New("this worker knows no Kubernetes cluster: it cannot write the status of WorkflowRun objects")
	}
	c, err := a.Registry.Get(ctx, in.Object.Cluster)
	if err != nil {
		return stepio.MirrorResult{}, err
	}
	obj := in.Object
	body, err := mirrorPatch(in)
	if err != nil || body == nil {
		return stepio.MirrorResult{}, err
	}
	err = c.PatchRunStatus(ctx, obj.Namespace, obj.Name, types.JSONPatchType, body)
	if err == nil {
		return stepio.MirrorResult{}, nil
	}
	if apierrors.IsNotFound(err) {
		return stepio.MirrorResult{Gone: true}, nil
	}
	if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		return stepio.MirrorResult{}, fmt.Errorf("write the status of WorkflowRun %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	// The UID test failed, or the status was removed: tell which.
	cur, gerr := c.GetRun(ctx, obj.Namespace, obj.Name)
	switch {
	case apierrors.IsNotFound(gerr):
		return stepio.MirrorResult{Gone: true}, nil
	case gerr != nil:
		return stepio.MirrorResult{}, fmt.Errorf("write the status of WorkflowRun %s/%s: %w", obj.Namespace, obj.Name, gerr)
	case string(cur.GetUID()) != obj.UID:
		return stepio.MirrorResult{Gone: true}, nil
	}
	full := in
	full.Previous = nil
	body, err = mirrorPatch(full)
	if err != nil {
		return stepio.MirrorResult{}, err
	}
	if err := c.PatchRunStatus(ctx, obj.Namespace, obj.Name, types.JSONPatchType, body); err != nil {
		return stepio.MirrorResult{}, fmt.Errorf("write the status of WorkflowRun %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return stepio.MirrorResult{}, nil
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// mirrorPatch is the JSON patch writing in.Status: the whole status
// without a previous one, else the top-level fields that differ. nil
// when nothing changed.
func mirrorPatch(in stepio.MirrorInput) ([]byte, error) {
	next, err := fields(in.Status)
	if err != nil {
		return nil, err
	}
	ops := []patchOp{{Op: "test", Path: "/metadata/uid", Value: in.Object.UID}}
	if in.Previous == nil {
		ops = append(ops, patchOp{Op: "add", Path: "/status", Value: next})
		return json.Marshal(ops)
	}
	prev, err := fields(*in.Previous)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(next)) {
		if !bytes.Equal(prev[k], next[k]) {
			ops = append(ops, patchOp{Op: "add", Path: "/status/" + k, Value: next[k]})
		}
	}
	if len(ops) == 1 {
		return nil, nil
	}
	return json.Marshal(ops)
}

// fields are a status's top-level fields as JSON.
func fields(st stepio.ObjectStatus) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}
