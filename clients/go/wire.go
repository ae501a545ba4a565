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

	cmdPublish     = 0x12
	cmdSubscribe   = 0x13
	cmdUnsubscribe = 0x14
	cmdPublication = 0x15

	maxTopic = 255
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

// topicTail is what follows a PUBLISH header's request id: the topic's
// length and the topic (schemas/PROTOCOL.md, PUBLISH), one frame fewer
// than sending it in a frame of its own. topic is 1..255 bytes.
func topicTail(topic string) []byte {
	return append([]byte{byte(len(topic))}, topic...)
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

// topicValid tells whether s is a valid topic (pattern false) or
// subscription pattern (true), by schemas/PROTOCOL.md
// ("Publish/subscribe"): 1..255 bytes of dot-separated segments, none
// empty, no byte a space, a control byte or DEL; in a pattern a whole
// segment may be "*" and the last one ">"; a topic has neither. A
// variable so that a test can switch it off to see the broker's answer.
var topicValid = func(s string, pattern bool) bool {
	if len(s) < 1 || len(s) > maxTopic {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] <= 0x20 || s[i] == 0x7f {
				return false
			}
			continue
		}
		seg := s[start:i]
		if seg == "" {
			return false
		}
		if seg == "*" || seg == ">" {
			if !pattern || (seg == ">" && i != len(s)) {
				return false
			}
		}
		start = i + 1
	}
	return true
}

func checkTopic(s string, pattern bool) error {
	if topicValid(s, pattern) {
		return nil
	}
	if pattern {
		return newError(ErrInvalidArgument, "", "%q is not a valid pattern (dot-separated segments, 1..255 bytes, no empty segment, no space or control byte; * for one segment, > as the last)", s)
	}
	return newError(ErrInvalidArgument, "", "%q is not a valid topic (dot-separated segments, 1..255 bytes, no empty segment, no space or control byte, no * or > segment)", s)
}

// parsePublication returns the pattern and topic of a PUBLICATION's
// HEADER frame (its names are laid out as a CALL's).
func parsePublication(f []byte) (pattern, topic string, ok bool) {
	_, rid, ok := parseHeader(f)
	if !ok {
		return "", "", false
	}
	rest := f[11+len(rid):]
	if len(rest) < 1 || int(rest[0]) == 0 || len(rest) < 1+int(rest[0])+1 {
		return "", "", false
	}
	pattern = string(rest[1 : 1+int(rest[0])])
	rest = rest[1+int(rest[0]):]
	if int(rest[0]) == 0 || len(rest) < 1+int(rest[0]) {
		return "", "", false
	}
	return pattern, string(rest[1 : 1+int(rest[0])]), true
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
