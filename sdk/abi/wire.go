package abi

import (
	"errors"
	"unicode/utf8"
	"unsafe"
)

// The wire encoding is a subset of the Protocol Buffers binary format: a
// message is a sequence of fields, each a varint key (field_number<<3 |
// wire_type) followed by its value. Two wire types are used: 0, a varint
// (integers and booleans), and 2, a varint length followed by that many bytes
// (strings, byte strings and nested messages). Repeated fields repeat the key.
// Decoders skip fields they do not know (wire types 0, 1, 2 and 5), which is
// how a minor version adds fields. Zero values are not written.
//
// It was chosen over JSON for speed in a Go guest (see host/RATIONALE.md) and
// over a fixed binary layout because unknown fields can be skipped.

// Wire types used by the encoding.
const (
	WireVarint = 0
	WireBytes  = 2
	wireI64    = 1
	wireI32    = 5
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

func (e *Encoder) varint(v uint64) {
	for v >= 0x80 {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

func (e *Encoder) key(field, wire int) { e.varint(uint64(field)<<3 | uint64(wire)) }

// Uint writes a varint field; zero is not written.
func (e *Encoder) Uint(field int, v uint64) {
	if v == 0 {
		return
	}
	e.key(field, WireVarint)
	e.varint(v)
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
	if s == "" {
		return
	}
	e.key(field, WireBytes)
	e.varint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Blob writes a byte-string field; a nil slice is not written, an empty
// non-nil one is (so a decoder can tell "empty" from "absent").
func (e *Encoder) Blob(field int, b []byte) {
	if b == nil {
		return
	}
	e.key(field, WireBytes)
	e.varint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// Message writes a nested message produced by fn, which appends to the same
// encoder.
func (e *Encoder) Message(field int, fn func(*Encoder)) {
	e.key(field, WireBytes)
	// Reserve one byte for the length, the common case, and shift if needed.
	at := len(e.buf)
	e.buf = append(e.buf, 0)
	fn(e)
	n := len(e.buf) - at - 1
	if n < 0x80 {
		e.buf[at] = byte(n)
		return
	}
	var tmp [10]byte
	l := 0
	for v := uint64(n); ; l++ {
		if v < 0x80 {
			tmp[l] = byte(v)
			l++
			break
		}
		tmp[l] = byte(v) | 0x80
		v >>= 7
	}
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
	pos   int
	field int
	wire  int
	val   uint64 // varint value
	data  []byte // length-delimited value
	err   error
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) Decoder { return Decoder{buf: b} }

func (d *Decoder) readVarint() (uint64, bool) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, false
		}
		c := d.buf[d.pos]
		d.pos++
		if shift == 63 && c > 1 {
			return 0, false
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, true
		}
	}
	return 0, false
}

// Next advances to the next field. It returns false at the end of the message
// or at the first error (see Err).
func (d *Decoder) Next() bool {
	if d.err != nil || d.pos >= len(d.buf) {
		return false
	}
	k, ok := d.readVarint()
	if !ok || k>>3 == 0 || k>>3 > 1<<29-1 {
		d.err = ErrMalformed
		return false
	}
	d.field, d.wire = int(k>>3), int(k&7)
	d.data = nil
	switch d.wire {
	case WireVarint:
		if d.val, ok = d.readVarint(); !ok {
			d.err = ErrMalformed
			return false
		}
	case WireBytes:
		n, ok := d.readVarint()
		if !ok || n > uint64(len(d.buf)-d.pos) {
			d.err = ErrMalformed
			return false
		}
		d.data = d.buf[d.pos : d.pos+int(n) : d.pos+int(n)]
		d.pos += int(n)
	case wireI64:
		if len(d.buf)-d.pos < 8 {
			d.err = ErrMalformed
			return false
		}
		d.pos += 8
	case wireI32:
		if len(d.buf)-d.pos < 4 {
			d.err = ErrMalformed
			return false
		}
		d.pos += 4
	default:
		d.err = ErrMalformed
		return false
	}
	return true
}

// Field returns the current field's number.
func (d *Decoder) Field() int { return d.field }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) want(wire int) bool {
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
	if !d.want(WireVarint) {
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
	if !d.want(WireBytes) {
		return nil
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
