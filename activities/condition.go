package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
)

// EvaluateCondition evaluates an `if` expression to a bool. It runs as a
// local activity: user CUE is evaluated outside workflow code, and the
// answer is recorded in history.
func (a *Activities) EvaluateCondition(_ context.Context, in stepio.ConditionInput) (bool, error) {
	cctx := cuedefs.NewContext()
	scope := cctx.Encode(cuedefs.Numbers(map[string]any{"status": orEmpty(in.Status), "inputs": orEmpty(in.Inputs), "context": orEmpty(in.Context)}))
	v := cuedefs.CompileExpr(cctx, scope, in.Expr, "if")
	b, err := v.Bool()
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError(fmt.Sprintf("if %q: %v", in.Expr, err), "Condition", nil)
	}
	return b, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
