// keys.go - CURVE keys from czmq certificate files, read by czmq itself
// (zcert_load), so that the client reads exactly what the broker and
// libactors write and read.

package actors

/*
#cgo pkg-config: libczmq
#include <stdlib.h>
#include <czmq.h>
*/
import "C"

import (
	"strings"
	"unsafe"
)

// noSecret is what czmq reports as the secret key of a public certificate.
const noSecret = "0000000000000000000000000000000000000000"

// LoadCert reads a czmq certificate file (what zcert_save writes: ZPL
// with a curve section holding public-key and, in the secret file,
// secret-key). It returns the Z85 public key and the Z85 secret key (""
// for a public certificate). Errors are ErrInvalidArgument.
// Thread-safe.
func LoadCert(path string) (public, secret string, err error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	cert := C.zcert_load(cpath)
	if cert == nil {
		return "", "", newError(ErrInvalidArgument, "", "cannot read certificate %s", path)
	}
	defer C.zcert_destroy(&cert)
	public = C.GoString(C.zcert_public_txt(cert))
	secret = C.GoString(C.zcert_secret_txt(cert))
	if secret == noSecret {
		secret = ""
	}
	return public, secret, nil
}

// loadPublic returns a Z85 public key given as is (40 characters, not an
// existing file) or read from a certificate file.
func loadPublic(key string) (string, error) {
	if len(key) == 40 && !strings.ContainsAny(key, "/") {
		if _, _, err := LoadCert(key); err != nil {
			return key, nil
		}
	}
	pub, _, err := LoadCert(key)
	return pub, err
}
