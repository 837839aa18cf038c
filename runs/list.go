package runs

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func keyword(sa *commonpb.SearchAttributes, name string) string {
	if sa == nil {
		return ""
	}
	p, ok := sa.IndexedFields[name]
	if !ok {
		return ""
	}
	var s string
	_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	return s
}
