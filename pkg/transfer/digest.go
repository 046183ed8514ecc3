package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// DigestError says that bytes read under a digest are not that digest's
// bytes: xpdoctor checks every byte it copies itself, in every direction,
// and never relies on the destination to refuse them.
type DigestError struct {
	// Where is the endpoint the bytes came from.
	Where string
	// Digest is the expected digest; Actual what the bytes hash to ("" when
	// the size was already wrong).
	Digest, Actual string
	// Size is the declared size; Read how many bytes were read (for a
	// stream longer than declared: Size+1, where reading stopped).
	Size, Read int64
}

func (e *DigestError) Error() string {
	if e.Actual == "" {
		if e.Read > e.Size {
			return fmt.Sprintf("%s serves more than the %d bytes declared for %s: stopped reading; nothing was committed under that digest", e.Where, e.Size, e.Digest)
		}
		return fmt.Sprintf("%s serves %d bytes for %s, which declares %d: nothing was committed under that digest", e.Where, e.Read, e.Digest, e.Size)
	}
	return fmt.Sprintf("%s serves wrong bytes for a blob: expected %s, got %s (%d bytes): nothing was committed under that digest", e.Where, e.Digest, e.Actual, e.Read)
}

// verifier passes a stream through while hashing it, and fails it when it
// is longer or shorter than declared or hashes to another digest. It holds
// back the last byte of every read until the end of the stream has been
// checked, so a reader on the other side (an upload, a file) never receives
// a complete wrong blob: an upload whose body fails is abandoned and never
// committed.
type verifier struct {
	r      io.Reader
	where  string
	digest string
	size   int64

	h       hash.Hash
	n       int64
	held    byte
	hasHeld bool
	done    bool
	err     error
}

func newVerifier(r io.Reader, where, digest string, size int64) *verifier {
	return &verifier{r: r, where: where, digest: digest, size: size, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.done {
		if v.hasHeld && len(p) > 0 {
			p[0], v.hasHeld = v.held, false
			return 1, nil
		}
		return 0, io.EOF
	}
	if len(p) < 2 {
		var buf [2]byte
		n, err := v.Read(buf[:])
		if n > 1 {
			// Cannot happen: Read on a 2-byte buffer holds one back.
			n = 1
		}
		copy(p, buf[:n])
		return n, err
	}
	off := 0
	if v.hasHeld {
		p[0], off, v.hasHeld = v.held, 1, false
	}
	n, err := v.r.Read(p[off:])
	v.h.Write(p[off : off+n])
	v.n += int64(n)
	if v.n > v.size {
		v.err = &DigestError{Where: v.where, Digest: v.digest, Size: v.size, Read: v.n}
		return 0, v.err
	}
	total := off + n
	if errors.Is(err, io.EOF) {
		if v.n != v.size {
			v.err = &DigestError{Where: v.where, Digest: v.digest, Size: v.size, Read: v.n}
			return 0, v.err
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.digest {
			v.err = &DigestError{Where: v.where, Digest: v.digest, Actual: got, Size: v.size, Read: v.n}
			return 0, v.err
		}
		v.done = true
		return total, nil
	}
	if err != nil {
		v.err = err
		return 0, err
	}
	if total > 0 {
		v.held, v.hasHeld = p[total-1], true
		total--
	}
	return total, nil
}

// failed returns the verifier's own refusal, if it refused the stream.
func (v *verifier) failed() *DigestError {
	var de *DigestError
	if errors.As(v.err, &de) {
		return de
	}
	return nil
}

// hashAll reads r to the end and checks it against digest and size.
func hashAll(r io.Reader, where, digest string, size int64) error {
	v := newVerifier(r, where, digest, size)
	_, err := io.Copy(io.Discard, v)
	return err
}
