package store

import (
	"fmt"
	"hash/crc32"
	"strconv"
)

// The data directory's files (log and snapshot) are sequences of records,
// one per line:
//
//	<length> <crc32c> <payload>\n
//
// length is the payload's size in bytes, in decimal; crc32c is the
// Castagnoli CRC-32 of the payload as 8 lowercase hex digits; the payload is
// JSON, which never holds a raw newline, so a file reads as lines.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaxRecord bounds a record's payload, so a damaged length cannot make a
// reader allocate without limit.
const MaxRecord = 1 << 30

// AppendRecord appends payload, framed as a record, to dst.
func AppendRecord(dst, payload []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ' ')
	dst = fmt.Appendf(dst, "%08x", crc32.Checksum(payload, castagnoli))
	dst = append(dst, ' ')
	dst = append(dst, payload...)
	return append(dst, '\n')
}

// Record is one record read from a file.
type Record struct {
	Offset  int64 // byte offset of the record's first byte
	Payload []byte
}

// CorruptError is a bad record with a good one after it: damage, not a
// write cut short by a crash.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt record at byte offset %d (valid records follow it): %s", e.Offset, e.Reason)
}

// ReadRecords splits data into records. A bad record that no valid record
// follows is a torn tail, the last write cut short by a crash: ReadRecords
// returns the records before it, its offset as torn and its fault as why.
// torn is -1 when every record is good. A bad record followed by a valid one
// is a *CorruptError.
func ReadRecords(data []byte) (recs []Record, torn int64, why string, err error) {
	off := 0
	for off < len(data) {
		payload, next, reason := parseRecord(data, off)
		if reason != "" {
			if validAfter(data, off) {
				return nil, 0, "", &CorruptError{Offset: int64(off), Reason: reason}
			}
			return recs, int64(off), reason, nil
		}
		recs = append(recs, Record{Offset: int64(off), Payload: payload})
		off = next
	}
	return recs, -1, "", nil
}

// validAfter reports whether a valid, non-empty record starts anywhere
// after off. Any offset, not only line starts: a record cut short and then
// followed by another is damage too. (A crash cannot leave that: the next
// record is written only after the previous one's fsync succeeded.)
func validAfter(data []byte, off int) bool {
	for q := off + 1; q < len(data); q++ {
		if c := data[q]; c < '1' || c > '9' {
			continue
		}
		if payload, _, reason := parseRecord(data, q); reason == "" && len(payload) > 0 {
			return true
		}
	}
	return false
}

// parseRecord reads the record at off; reason is "" when it is good.
func parseRecord(data []byte, off int) (payload []byte, next int, reason string) {
	p := off
	var n int64 // int64: ten digits overflow a 32-bit int
	for digits := 0; ; digits++ {
		if p >= len(data) {
			return nil, 0, "incomplete length"
		}
		c := data[p]
		if c == ' ' && digits > 0 {
			p++
			break
		}
		if c < '0' || c > '9' || digits >= 10 || digits == 1 && n == 0 {
			return nil, 0, "bad length"
		}
		n = n*10 + int64(c-'0')
		p++
	}
	if n > MaxRecord {
		return nil, 0, "length over the limit"
	}
	if len(data)-p < 9 {
		return nil, 0, "incomplete checksum"
	}
	var sum uint32
	for _, c := range data[p : p+8] {
		switch {
		case '0' <= c && c <= '9':
			sum = sum<<4 | uint32(c-'0')
		case 'a' <= c && c <= 'f':
			sum = sum<<4 | uint32(c-'a'+10)
		default:
			return nil, 0, "bad checksum field"
		}
	}
	if data[p+8] != ' ' {
		return nil, 0, "bad checksum field"
	}
	p += 9
	if int64(len(data)-p) < n+1 {
		return nil, 0, "incomplete payload"
	}
	end := p + int(n)
	if data[end] != '\n' {
		return nil, 0, "no newline after the payload"
	}
	payload = data[p:end]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, 0, "checksum mismatch"
	}
	return payload, end + 1, ""
}
