package wire_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/record"
)

// TestRecordAgreesWithPackageRecord checks that the record format the
// guest reads is the one package record (which users import, and which
// cannot import this package) writes: the same JSON fields of the same
// types, and the same environment variable. wire.Record has one field
// more, the suite, which the guest fills in.
func TestRecordAgreesWithPackageRecord(t *testing.T) {
	assert.Equal(t, wire.EnvRecords, record.EnvRecords)
	fields := func(v any) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			out[typ.Field(i).Tag.Get("json")] = typ.Field(i).Type
		}
		return out
	}
	want := fields(wire.Record{})
	delete(want, "suite")
	assert.Equal(t, want, fields(record.Record{}))
}
