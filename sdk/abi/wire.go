package abi

import (
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// The wire encoding is the Protocol Buffers binary format, restricted to what
// abi.proto uses: a message is a sequence of fields, each a varint key
// (field_number<<3 | wire_type) followed by its value. Two wire types are
// written: 0, a varint (integers and booleans), and 2, a varint length
// followed by that many bytes (strings, byte strings and nested messages).
// Repeated fields repeat the key. Decoders skip fields they do not know (wire
// types 0, 1, 2 and 5), which is how a minor version adds fields. Zero values
// are not written, except for optional byte strings and the elements of
// repeated fields.
//
// The primitives come from google.golang.org/protobuf/encoding/protowire,
// which uses no reflection; the messages are coded by hand in messages.go and
// transport.go and checked against abi.proto by schema_test.go.
//
// It was chosen over JSON for speed in a Go guest (see host/RATIONALE.md) and
// over a fixed binary layout because unknown fields can be skipped.

// Wire types used by the encoding.
const (
	WireVarint = int(protowire.VarintType)
	WireBytes  = int(protowire.BytesType)
)

// ErrMalformed is returned for input that is not a well-formed message.
var ErrMalformed = errors.New("abi: malformed message")

// ErrInvalidUTF8 is returned when a string field is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("abi: string field is not valid UTF-8")

// Encoder appends fields to a byte slice. The zero value is ready to use.
type Encoder struct {
	buf []byte
}

// Reset makes the encoder append to buf[:0], reusing its storage.
func (e *Encoder) Reset(buf []byte) { e.buf = buf[:0] }

// Bytes returns the encoded message.
func (e *Encoder) Bytes() []byte { return e.buf }

func (e *Encoder) key(field int, wire protowire.Type) {
	e.buf = protowire.AppendTag(e.buf, protowire.Number(field), wire)
}

// Uint writes a varint field; zero is not written.
func (e *Encoder) Uint(field int, v uint64) {
	if v == 0 {
		return
	}
	e.key(field, protowire.VarintType)
	e.buf = protowire.AppendVarint(e.buf, v)
}

// Int writes a signed integer as a two's-complement varint (protobuf int64);
// zero is not written.
func (e *Encoder) Int(field int, v int64) { e.Uint(field, uint64(v)) }

// Bool writes a boolean; false is not written.
func (e *Encoder) Bool(field int, v bool) {
	if v {
		e.Uint(field, 1)
	}
}

// String writes a string field; the empty string is not written.
func (e *Encoder) String(field int, s string) {
	if s != "" {
		e.Element(field, s)
	}
}

// Element writes one element of a repeated string field, the empty string
// too: every element of a repeated field is written, so a list of
// alternating names and values stays aligned. Invalid UTF-8 is written with
// each bad byte sequence replaced by U+FFFD: the ABI's strings are valid
// UTF-8, whoever encodes them.
func (e *Encoder) Element(field int, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	e.key(field, protowire.BytesType)
	e.buf = protowire.AppendString(e.buf, s)
}

// Repeated writes every element of a repeated string field (see Element).
func (e *Encoder) Repeated(field int, list []string) {
	for _, s := range list {
		e.Element(field, s)
	}
}

// Blob writes a byte-string field; a nil slice is not written, an empty
// non-nil one is (so a decoder can tell "empty" from "absent": proto3
// optional bytes).
func (e *Encoder) Blob(field int, b []byte) {
	if b == nil {
		return
	}
	e.key(field, protowire.BytesType)
	e.buf = protowire.AppendBytes(e.buf, b)
}

// Message writes a nested message produced by fn, which appends to the same
// encoder.
func (e *Encoder) Message(field int, fn func(*Encoder)) {
	e.key(field, protowire.BytesType)
	// Reserve one byte for the length, the common case, and shift if needed.
	at := len(e.buf)
	e.buf = append(e.buf, 0)
	fn(e)
	n := len(e.buf) - at - 1
	if n < 0x80 {
		e.buf[at] = byte(n)
		return
	}
	var tmp [10]byte // the longest varint
	l := len(protowire.AppendVarint(tmp[:0], uint64(n)))
	e.buf = append(e.buf, tmp[:l-1]...)
	copy(e.buf[at+l:], e.buf[at+1:at+1+n])
	copy(e.buf[at:], tmp[:l])
}

// Decoder reads the fields of one message in order.
//
//	d := abi.NewDecoder(b)
//	for d.Next() {
//		switch d.Field() {
//		case 1:
//			x = d.String()
//		}
//	}
//	if err := d.Err(); err != nil { ... }
//
// A field the caller does not read is skipped by the next call to Next.
type Decoder struct {
	buf   []byte
	field int
	wire  protowire.Type
	val   uint64 // varint value
	data  []byte // length-delimited value
	err   error
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) Decoder { return Decoder{buf: b} }

// Next advances to the next field. It returns false at the end of the message
// or at the first error (see Err). Groups (wire types 3 and 4) are malformed.
func (d *Decoder) Next() bool {
	if d.err != nil || len(d.buf) == 0 {
		return false
	}
	num, wire, n := protowire.ConsumeTag(d.buf)
	if n < 0 || num > protowire.MaxValidNumber {
		d.err = ErrMalformed
		return false
	}
	d.buf = d.buf[n:]
	d.field, d.wire, d.data = int(num), wire, nil
	switch wire {
	case protowire.VarintType:
		d.val, n = protowire.ConsumeVarint(d.buf)
	case protowire.BytesType:
		var v []byte
		v, n = protowire.ConsumeBytes(d.buf)
		d.data = v[:len(v):len(v)]
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(d.buf)
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(d.buf)
	default:
		n = -1
	}
	if n < 0 {
		d.err = ErrMalformed
		return false
	}
	d.buf = d.buf[n:]
	return true
}

// Field returns the current field's number.
func (d *Decoder) Field() int { return d.field }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) want(wire protowire.Type) bool {
	if d.wire != wire {
		if d.err == nil {
			d.err = ErrMalformed
		}
		return false
	}
	return true
}

// Uint returns the current field as an unsigned varint.
func (d *Decoder) Uint() uint64 {
	if !d.want(protowire.VarintType) {
		return 0
	}
	return d.val
}

// Int returns the current field as a signed varint (protobuf int64).
func (d *Decoder) Int() int64 { return int64(d.Uint()) }

// Bool returns the current field as a boolean.
func (d *Decoder) Bool() bool { return d.Uint() != 0 }

// Blob returns the current field's bytes, aliasing the decoder's input; a
// present but empty field gives an empty, non-nil slice.
func (d *Decoder) Blob() []byte {
	if !d.want(protowire.BytesType) {
		return nil
	}
	if d.data == nil {
		return []byte{}
	}
	return d.data
}

// String returns the current field as a string, copied; invalid UTF-8 is an
// error.
func (d *Decoder) String() string {
	b := d.Blob()
	if !utf8.Valid(b) {
		if d.err == nil {
			d.err = ErrInvalidUTF8
		}
		return ""
	}
	return string(b)
}

// StringView returns the current field as a string that aliases the
// decoder's input (no copy): it is valid only while the input is unchanged.
// It does not check UTF-8: the guest SDK uses it for requests, whose strings
// the host guarantees are valid UTF-8 (a loop per byte costs ~20 ns in a
// guest with deadline checks on).
func (d *Decoder) StringView() string {
	b := d.Blob()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Message returns a decoder over the current field's nested message.
func (d *Decoder) Message() Decoder { return NewDecoder(d.Blob()) }
