package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWALRecordFormat(t *testing.T) {
	t.Parallel()
	// cff7d56a: CRC-32C of {"a":1}, computed independently (bitwise, poly 0x82F63B78).
	if got, want := string(AppendRecord(nil, []byte(`{"a":1}`))), "7 cff7d56a {\"a\":1}\n"; got != want {
		t.Fatalf("AppendRecord = %q, want %q", got, want)
	}
	if got := string(AppendRecord(nil, []byte("123456789"))); got != "9 e3069283 123456789\n" {
		// e3069283 is the CRC-32C check value of "123456789" (RFC 3720 B.4).
		t.Fatalf("AppendRecord(check string) = %q, want the CRC-32C check value e3069283", got)
	}
}

func records(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = AppendRecord(b, []byte(p))
	}
	return b
}

func TestWALReadRecords(t *testing.T) {
	t.Parallel()
	three := records(`["one"]`, `["two"]`, `["three"]`)
	last := int64(bytes.LastIndex(three[:len(three)-1], []byte("\n")) + 1)
	second := int64(bytes.Index(three, []byte("\n")) + 1)
	flip := func(b []byte, at int64) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x20
		return c
	}
	tests := []struct {
		name      string
		data      []byte
		want      []string
		torn      int64
		corruptAt int64 // -1: no corruption
	}{
		{name: "empty", data: nil, torn: -1, corruptAt: -1},
		{name: "good", data: three, want: []string{`["one"]`, `["two"]`, `["three"]`}, torn: -1, corruptAt: -1},
		{name: "empty payload", data: records(""), want: []string{""}, torn: -1, corruptAt: -1},
		{name: "cut in the payload", data: three[:len(three)-3], want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "cut before the newline", data: three[:len(three)-1], want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "cut in the length", data: three[:last+1], want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "cut in the checksum", data: three[:last+5], want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "flipped payload byte in the last", data: flip(three, int64(len(three))-3), want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "flipped checksum in the last", data: flip(three, last+3), want: []string{`["one"]`, `["two"]`}, torn: last, corruptAt: -1},
		{name: "zeros after the last", data: append(bytes.Clone(three), 0, 0, 0, 0), want: []string{`["one"]`, `["two"]`, `["three"]`}, torn: int64(len(three)), corruptAt: -1},
		{name: "garbage lines after the last", data: append(bytes.Clone(three), "x\ny\n"...), want: []string{`["one"]`, `["two"]`, `["three"]`}, torn: int64(len(three)), corruptAt: -1},
		{name: "flipped byte in the middle", data: flip(three, second+12), corruptAt: second},
		{name: "flipped length in the middle", data: flip(three, second), corruptAt: second},
		{name: "middle record cut out", data: append(bytes.Clone(three[:second+5]), three[last:]...), corruptAt: second},
		{name: "leading zero length", data: []byte("07 00000000 {\"a\":1}\n"), torn: 0, corruptAt: -1},
		{name: "huge length", data: []byte("99999999999 00000000 x\n"), torn: 0, corruptAt: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, torn, why, err := ReadRecords(tc.data)
			if tc.corruptAt >= 0 {
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Offset != tc.corruptAt {
					t.Fatalf("ReadRecords error = %v, want a CorruptError at offset %d", err, tc.corruptAt)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRecords: %v", err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, string(r.Payload))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payloads (-want +got):\n%s", diff)
			}
			if torn != tc.torn {
				t.Errorf("torn = %d (%s), want %d", torn, why, tc.torn)
			}
			if torn >= 0 && why == "" {
				t.Errorf("torn without a reason")
			}
		})
	}
}

func FuzzWALReadRecords(f *testing.F) {
	f.Add(records(`["one"]`, `["two"]`))
	f.Add([]byte("3 00000000 abc\n"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("7 e6B88f78 [\"two\"]\n")) // upper-case hex is not the format
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, torn, _, err := ReadRecords(data)
		if err != nil {
			return
		}
		// Whatever is read back re-encodes to the file's prefix.
		var b []byte
		for _, r := range recs {
			b = AppendRecord(b, r.Payload)
		}
		end := int64(len(data))
		if torn >= 0 {
			end = torn
		}
		if !bytes.Equal(b, data[:end]) {
			t.Fatalf("records re-encode to %q, want the prefix %q", b, data[:end])
		}
	})
}
