// Arena's addition to FerretDB 1.24 (copied into internal/types at build time).
//
// A filter that is exactly {_id: {$gt|$gte|$lt|$lte: <string>, ...}}, a range
// of string ids, is one the SQLite backend can answer from an index on the
// id's text (internal/backends/sqlite), in id order, with a LIMIT: so a page
// of such a collection costs the page, not the collection.  MongoDB compares
// strings by their UTF-8 bytes (the simple collation) and a range on strings
// matches strings only; SQLite's BINARY collation and a type check on the
// stored schema give the same set in the same order.

package types

// IDBound is one bound of a string range on _id: an operator and its value.
type IDBound struct {
	Op    string // $gt, $gte, $lt or $lte
	Value string
}

// IDRange returns the bounds of filter when it is a range of string ids and
// nothing else; ok is false for any other filter.
func IDRange(filter *Document) (bounds []IDBound, ok bool) {
	ops, ok := idOperators(filter)
	if !ok {
		return nil, false
	}

	for _, op := range ops.Keys() {
		switch op {
		case "$gt", "$gte", "$lt", "$lte":
		default:
			return nil, false
		}

		value, _ := ops.Get(op)

		s, isString := value.(string)
		if !isString {
			return nil, false
		}

		bounds = append(bounds, IDBound{Op: op, Value: s})
	}

	return bounds, true
}

// IDSet returns the ids of filter when it is exactly {_id: {$in: [<string>, ...]}}
// (at most 1000), which the SQLite backend answers from the _id index; ok is
// false for any other filter.
func IDSet(filter *Document) (ids []string, ok bool) {
	ops, ok := idOperators(filter)
	if !ok || ops.Len() != 1 {
		return nil, false
	}

	in, err := ops.Get("$in")
	if err != nil {
		return nil, false
	}

	values, isArray := in.(*Array)
	if !isArray || values.Len() == 0 || values.Len() > 1000 {
		return nil, false
	}

	for i := 0; i < values.Len(); i++ {
		value, _ := values.Get(i)

		s, isString := value.(string)
		if !isString {
			return nil, false
		}

		ids = append(ids, s)
	}

	return ids, true
}

// idOperators returns the operator document of filter when filter is exactly
// {_id: {<operators>}} with at least one operator.
func idOperators(filter *Document) (*Document, bool) {
	if filter == nil || filter.Len() != 1 {
		return nil, false
	}

	v, err := filter.Get("_id")
	if err != nil {
		return nil, false
	}

	ops, isDoc := v.(*Document)
	if !isDoc || ops.Len() == 0 {
		return nil, false
	}

	return ops, true
}
