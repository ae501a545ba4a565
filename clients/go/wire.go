// wire.go - the ACT2 envelope (schemas/PROTOCOL.md, "The HEADER frame").

package actors

import (
	"encoding/binary"
	"time"
)

const (
	cmdCall   = 0x01
	cmdTell   = 0x02
	cmdReply  = 0x03
	cmdError  = 0x04
	cmdLookup = 0x09
	cmdList   = 0x0A
	cmdPing   = 0x0B
	cmdSpawn  = 0x0E
	cmdKill   = 0x0F
	cmdEvents = 0x10
)

// header builds a HEADER frame: "ACT2", command, flags 0, timeout_ms
// (big-endian), the request id, then tail (a CALL's or TELL's names).
func header(cmd byte, rid []byte, timeoutMs uint32, tail []byte) []byte {
	h := make([]byte, 11, 11+len(rid)+len(tail))
	copy(h, "ACT2")
	h[4] = cmd
	binary.BigEndian.PutUint32(h[6:], timeoutMs)
	h[10] = byte(len(rid))
	h = append(h, rid...)
	return append(h, tail...)
}

// parseHeader returns the command and request id of a HEADER frame; ok is
// false if it is not a readable ACT2 header.
func parseHeader(f []byte) (cmd byte, rid []byte, ok bool) {
	if len(f) < 11 || string(f[:4]) != "ACT2" {
		return 0, nil, false
	}
	n := int(f[10])
	if 11+n > len(f) {
		return 0, nil, false
	}
	return f[4], f[11 : 11+n], true
}

func checkName(s, what string) error {
	if len(s) < 1 || len(s) > 255 {
		return newError(ErrInvalidArgument, "", "%s must be 1..255 bytes, got %d", what, len(s))
	}
	return nil
}

// names is the names part of a CALL or TELL header.
func names(address, method string) ([]byte, error) {
	if err := checkName(address, "address"); err != nil {
		return nil, err
	}
	if err := checkName(method, "method"); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 2+len(address)+len(method))
	b = append(b, byte(len(address)))
	b = append(b, address...)
	b = append(b, byte(len(method)))
	return append(b, method...), nil
}

// timeoutMs is a deadline as the header's uint32 milliseconds (0: none).
func timeoutMs(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(ms)
}
