package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// The verifier never hands on a complete wrong blob: the reader on the other
// side (an upload) sees at most size-1 bytes before the error, whatever the
// chunking.
func TestVerifierHoldsBackTheLastByte(t *testing.T) {
	good := bytes.Repeat([]byte("xpdoctor"), 1000)
	bad := append(append([]byte{}, good[:len(good)-1]...), '!')
	cases := []struct {
		name    string
		stream  []byte
		size    int64
		wantErr bool
	}{
		{"right bytes", good, int64(len(good)), false},
		{"wrong last byte", bad, int64(len(good)), true},
		{"longer than declared", append(append([]byte{}, good...), 'x'), int64(len(good)), true},
		{"shorter than declared", good[:len(good)-1], int64(len(good)), true},
		{"empty", nil, 0, false},
	}
	for _, c := range cases {
		for _, chunking := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
			v := newVerifier(chunking(bytes.NewReader(c.stream)), "test", digestOf(good[:c.size]), c.size)
			got, err := io.ReadAll(v)
			var de *DigestError
			switch {
			case c.wantErr && !errors.As(err, &de):
				t.Errorf("%s: err = %v, want a DigestError", c.name, err)
			case c.wantErr && int64(len(got)) >= c.size:
				t.Errorf("%s: %d of %d bytes were handed on before the refusal", c.name, len(got), c.size)
			case !c.wantErr && (err != nil || !bytes.Equal(got, c.stream)):
				t.Errorf("%s: err %v, %d bytes", c.name, err, len(got))
			}
		}
	}
}

func TestCheckDestination(t *testing.T) {
	for dst, want := range map[string]string{
		"reg.example/upbound/provider-nop:v1":                                             "",
		"reg.example/upbound/provider-nop@sha256:" + hex.EncodeToString(make([]byte, 32)): "",
		"localhost:5000/upbound/provider-nop:v1":                                          "",
		"reg.example/upbound":                                                             "reg.example/upbound:v1.6.0",
		"localhost:5000/upbound":                                                          "localhost:5000/upbound:v1.6.0",
		"reg.example/mirror/":                                                             "reg.example/mirror/provider-nop:v1.6.0",
		"reg.example/mirror//":                                                            "reg.example/mirror/provider-nop:v1.6.0",
	} {
		err := CheckDestination("xpkg.upbound.io/upbound/provider-nop:v1.6.0", dst)
		var de *DestinationError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", dst, err)
		case want != "" && (!errors.As(err, &de) || de.Suggest != want):
			t.Errorf("%s: %v, want the suggestion %s", dst, err, want)
		}
	}
}
