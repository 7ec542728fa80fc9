package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"time"
)

// The dump: a store-neutral backup, what `gatehouse backup` writes and `gatehouse restore`
// reads on any store (Badger or PostgreSQL).
//
//	magic   "GATEHOUSE-DUMP\n" then the format version byte (1)
//	records 'R', uvarint len(key), key, uvarint len(value), value,
//	        varint expiry (Unix milliseconds; 0: none)
//	end     'E', uvarint number of records, 4 bytes big-endian CRC-32 (IEEE) of every byte
//	        up to and with the 'E'
//
// A truncated or corrupted dump is refused whole (Import checks the end record before it
// writes the last batch, and the caller restores into an empty store).

// DumpMagic opens every dump.
const DumpMagic = "GATEHOUSE-DUMP\n"

// dumpVersion is the format version written after the magic.
const dumpVersion = 1

// importBatch is how many records one transaction of Import writes.
const importBatch = 200

// ExpiryScanner is a Txn that can scan with each key's expiry (zero: none); Export needs it.
type ExpiryScanner interface {
	ScanExpiry(prefix []byte, fn func(key, value []byte, expiresAt time.Time) bool) error
}

// ExpirySetter is a Txn that can write a key expiring at a given time (zero: never); Import
// uses it when present (exact expiry), else Set with the remaining TTL.
type ExpirySetter interface {
	SetExpiresAt(key, value []byte, expiresAt time.Time) error
}

// Export writes every key of st, with its value and expiry, as a dump to w, from one
// consistent snapshot.
func Export(st Store, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	crc := crc32.NewIEEE()
	out := io.MultiWriter(bw, crc)
	if _, err := io.WriteString(out, DumpMagic); err != nil {
		return err
	}
	if _, err := out.Write([]byte{dumpVersion}); err != nil {
		return err
	}
	var n uint64
	var werr error
	err := st.View(func(txn Txn) error {
		es, ok := txn.(ExpiryScanner)
		if !ok {
			return errors.New("store: this store cannot export keys with their expiry")
		}
		var buf []byte
		return es.ScanExpiry(nil, func(key, value []byte, at time.Time) bool {
			buf = append(buf[:0], 'R')
			buf = binary.AppendUvarint(buf, uint64(len(key)))
			buf = append(buf, key...)
			buf = binary.AppendUvarint(buf, uint64(len(value)))
			buf = append(buf, value...)
			var ms int64
			if !at.IsZero() {
				ms = at.UnixMilli()
			}
			buf = binary.AppendVarint(buf, ms)
			if _, werr = out.Write(buf); werr != nil {
				return false
			}
			n++
			return true
		})
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if _, err := out.Write([]byte{'E'}); err != nil {
		return err
	}
	end := binary.AppendUvarint(nil, n)
	end = binary.BigEndian.AppendUint32(end, crc.Sum32())
	if _, err := bw.Write(end); err != nil {
		return err
	}
	return bw.Flush()
}

// IsDump reports whether head (the first bytes of a backup) opens a dump.
func IsDump(head []byte) bool { return bytes.HasPrefix(head, []byte(DumpMagic)) }

// Import writes the keys of a dump into st (meant for an empty store), in batches of
// transactions; keys whose expiry has passed are skipped. It returns an error, having written
// nothing of the last batch, when the dump is truncated or corrupted.
func Import(st Store, r io.Reader) error {
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 64<<10)
	tr := &teeByteReader{r: br, crc: crc}
	head := make([]byte, len(DumpMagic)+1)
	if _, err := io.ReadFull(tr, head); err != nil || !IsDump(head) {
		return errors.New("store: not a gatehouse dump")
	}
	if head[len(DumpMagic)] != dumpVersion {
		return fmt.Errorf("store: dump format version %d is not supported", head[len(DumpMagic)])
	}
	type record struct {
		key, value []byte
		at         time.Time
	}
	var batch []record
	var n uint64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := st.Update(func(txn Txn) error {
			es, exact := txn.(ExpirySetter)
			for _, rec := range batch {
				var err error
				switch {
				case exact:
					err = es.SetExpiresAt(rec.key, rec.value, rec.at)
				case rec.at.IsZero():
					err = txn.Set(rec.key, rec.value, 0)
				default:
					err = txn.Set(rec.key, rec.value, max(time.Until(rec.at), time.Millisecond))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	now := time.Now()
	for {
		tag, err := tr.ReadByte()
		if err != nil {
			return fmt.Errorf("store: dump truncated: %w", err)
		}
		if tag == 'E' {
			break
		}
		if tag != 'R' {
			return fmt.Errorf("store: dump corrupted (record tag %q)", tag)
		}
		key, err := readBytes(tr)
		if err != nil {
			return err
		}
		value, err := readBytes(tr)
		if err != nil {
			return err
		}
		ms, err := binary.ReadVarint(tr)
		if err != nil {
			return fmt.Errorf("store: dump truncated: %w", err)
		}
		n++
		var at time.Time
		if ms != 0 {
			at = time.UnixMilli(ms)
			if !at.After(now) {
				continue // expired since the backup
			}
		}
		batch = append(batch, record{key, value, at})
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	want := crc.Sum32()
	tr.crc = nil
	count, err := binary.ReadUvarint(tr)
	if err != nil {
		return fmt.Errorf("store: dump truncated: %w", err)
	}
	var sum [4]byte
	if _, err := io.ReadFull(tr, sum[:]); err != nil {
		return fmt.Errorf("store: dump truncated: %w", err)
	}
	if count != n || binary.BigEndian.Uint32(sum[:]) != want {
		return errors.New("store: dump corrupted (record count or checksum)")
	}
	return flush()
}

func readBytes(r *teeByteReader) ([]byte, error) {
	l, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("store: dump truncated: %w", err)
	}
	if l > 64<<20 {
		return nil, errors.New("store: dump corrupted (a record of more than 64 MiB)")
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("store: dump truncated: %w", err)
	}
	return b, nil
}

// teeByteReader reads through a bufio.Reader and adds every byte read to crc (when set).
type teeByteReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (t *teeByteReader) ReadByte() (byte, error) {
	b, err := t.r.ReadByte()
	if err == nil && t.crc != nil {
		t.crc.Write([]byte{b})
	}
	return b, err
}

func (t *teeByteReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && t.crc != nil {
		t.crc.Write(p[:n])
	}
	return n, err
}

// readSequence returns the next free value of the named sequence (at least 1).
func readSequence(txn Txn, name string) (uint64, error) {
	v, err := txn.Get(Key("seq", name))
	if errors.Is(err, ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: sequence %s: a value of %d bytes", name, len(v))
	}
	return max(binary.BigEndian.Uint64(v), 1), nil
}

func encodeSequence(next uint64) []byte { return binary.BigEndian.AppendUint64(nil, next) }

// isEmpty reports whether st holds no key of the layout.
func isEmpty(st Store) (bool, error) {
	empty := true
	err := st.View(func(txn Txn) error {
		return txn.Scan([]byte(Layout), func(_, _ []byte) bool { empty = false; return false })
	})
	return empty, err
}
