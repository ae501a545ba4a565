// errors.go - one error value per error type of the ACT2 protocol.

package actors

import (
	"errors"
	"fmt"
)

// ErrorTypes are the wire names of schemas/PROTOCOL.md's error table, in
// the order of ACTORS_ERRORS in libactors/include/actors/error.h (a test
// checks them against that header). Append only.
var ErrorTypes = []string{
	"InvalidArgument", "OutOfMemory", "Timeout", "NoSuchActor",
	"NoSuchMethod", "MailboxFull", "ActorCrashed", "ActorDead",
	"BadRequest", "BadMsgpack", "WrongArguments", "TooLarge", "NameTaken",
	"BadVersion", "ActorError", "Closed", "NotReady", "TransportError",
	"InternalError", "NoSuchNode", "SpawnFailed", "DiskFull", "KeyLocked",
	"Forbidden", "Deadlock",
}

// Kind is an error type of the table. Test an error against one with
// errors.Is(err, actors.ErrNoSuchActor). ErrActorError also matches every
// application error type (such as "ValueError") that is not in the table.
type Kind struct{ name string }

// Error returns the wire name.
func (k *Kind) Error() string { return k.name }

// Name returns the wire name.
func (k *Kind) Name() string { return k.name }

// One Kind per error type.
var (
	ErrInvalidArgument = &Kind{"InvalidArgument"}
	ErrOutOfMemory     = &Kind{"OutOfMemory"}
	ErrTimeout         = &Kind{"Timeout"}
	ErrNoSuchActor     = &Kind{"NoSuchActor"}
	ErrNoSuchMethod    = &Kind{"NoSuchMethod"}
	ErrMailboxFull     = &Kind{"MailboxFull"}
	ErrActorCrashed    = &Kind{"ActorCrashed"}
	ErrActorDead       = &Kind{"ActorDead"}
	ErrBadRequest      = &Kind{"BadRequest"}
	ErrBadMsgpack      = &Kind{"BadMsgpack"}
	ErrWrongArguments  = &Kind{"WrongArguments"}
	ErrTooLarge        = &Kind{"TooLarge"}
	ErrNameTaken       = &Kind{"NameTaken"}
	ErrBadVersion      = &Kind{"BadVersion"}
	ErrActorError      = &Kind{"ActorError"}
	ErrClosed          = &Kind{"Closed"}
	ErrNotReady        = &Kind{"NotReady"}
	ErrTransportError  = &Kind{"TransportError"}
	ErrInternalError   = &Kind{"InternalError"}
	ErrNoSuchNode      = &Kind{"NoSuchNode"}
	ErrSpawnFailed     = &Kind{"SpawnFailed"}
	ErrDiskFull        = &Kind{"DiskFull"}
	ErrKeyLocked       = &Kind{"KeyLocked"}
	ErrForbidden       = &Kind{"Forbidden"}
	ErrDeadlock        = &Kind{"Deadlock"}
)

var kinds = map[string]*Kind{}

func init() {
	for _, k := range []*Kind{ErrInvalidArgument, ErrOutOfMemory,
		ErrTimeout, ErrNoSuchActor, ErrNoSuchMethod, ErrMailboxFull,
		ErrActorCrashed, ErrActorDead, ErrBadRequest, ErrBadMsgpack,
		ErrWrongArguments, ErrTooLarge, ErrNameTaken, ErrBadVersion,
		ErrActorError, ErrClosed, ErrNotReady, ErrTransportError,
		ErrInternalError, ErrNoSuchNode, ErrSpawnFailed, ErrDiskFull,
		ErrKeyLocked, ErrForbidden, ErrDeadlock} {
		kinds[k.name] = k
	}
}

// KindOf returns the Kind of a wire name; ErrActorError for a name not in
// the table (an application error type).
func KindOf(name string) *Kind {
	if k, ok := kinds[name]; ok {
		return k
	}
	return ErrActorError
}

// Error is an error reply (or one the client made for a request): its
// type (a wire name, or an application type such as "ValueError"), its
// message and the address it concerns ("" for none). Error() is
// "Type: message", as actorctl prints it.
type Error struct {
	Type    string
	Message string
	Address string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Is makes errors.Is(err, actors.ErrX) true for an Error of type X (and
// ErrActorError for application types).
func (e *Error) Is(target error) bool {
	var k *Kind
	if !errors.As(target, &k) {
		return false
	}
	return KindOf(e.Type) == k
}

// Kind returns the error's Kind.
func (e *Error) Kind() *Kind { return KindOf(e.Type) }

func newError(k *Kind, address, format string, a ...any) *Error {
	return &Error{Type: k.name, Message: fmt.Sprintf(format, a...), Address: address}
}

// errorFromBody makes the Error of an ERROR reply's body, a map {type,
// message, address}; other keys are ignored.
func errorFromBody(v any) *Error {
	m, ok := v.(map[string]any)
	if !ok {
		return newError(ErrBadMsgpack, "", "error reply body is not a map: %v", v)
	}
	e := &Error{Type: "ActorError"}
	if t, ok := m["type"].(string); ok && t != "" {
		e.Type = t
	}
	if s, ok := m["message"].(string); ok {
		e.Message = s
	}
	if s, ok := m["address"].(string); ok {
		e.Address = s
	}
	return e
}
