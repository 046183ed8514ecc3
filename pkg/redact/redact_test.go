package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New()
	r.AddUserPassword("robot", "s3cr3t-PASS")
	r.Add("tok-REGISTRY-123456")
	r.Add("ab") // too short to replace by value
	basic := base64.StdEncoding.EncodeToString([]byte("robot:s3cr3t-PASS"))
	cases := []struct{ in, want string }{
		{"password s3cr3t-PASS in a sentence", "password " + Mask + " in a sentence"},
		{"auth " + basic, "auth " + Mask},
		{"robot:s3cr3t-PASS@host", Mask + "@host"},
		{"registry echoed tok-REGISTRY-123456 back", "registry echoed " + Mask + " back"},
		{"escaped s3cr3t%2DPASS stays? no: s3cr3t-PASS", "escaped s3cr3t%2DPASS stays? no: " + Mask},
		{"ab is a word", "ab is a word"},
		// Patterns, whoever holds the credential.
		{`Get "https://bucket.s3.amazonaws.com/docker/blob?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc&token=t": dial tcp: refused`,
			`Get "https://bucket.s3.amazonaws.com/docker/blob?` + Mask + `": dial tcp: refused`},
		{"see https://user:pa55word@registry.example/v2/ (mirror).", "see https://" + Mask + "@registry.example/v2/ (mirror)."},
		{"Authorization: Bearer abcdefgh12345678", "Authorization: Bearer " + Mask},
		{`WWW-Authenticate: Basic realm="x"`, `WWW-Authenticate: Basic realm="x"`},
		{`{"errors":[{"code":"DENIED","message":"bad","detail":{"token":"eyJhbGciOi"}}]}`, `{"errors":[{"code":"DENIED","message":"bad","detail":{"token":"` + Mask + `"}}]}`},
		{"sig=abcdef&se=2030 token=xyz", "sig=" + Mask + "&se=2030 token=" + Mask},
		{"jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb2JvdCJ9.c2lnbmF0dXJl end", "jwt " + Mask + " end"},
		{"is this a registry endpoint? yes", "is this a registry endpoint? yes"},
		{"GET https://r.example/v2/x/tags/list?n=1000&last=b -> 200", "GET https://r.example/v2/x/tags/list?n=1000&last=b -> 200"},
		{"GET https://r.example/v2/x/tags/list?n=1000&sig=x -> 200", "GET https://r.example/v2/x/tags/list?" + Mask + " -> 200"},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	for _, c := range cases {
		once := r.String(c.in)
		if twice := r.String(once); twice != once {
			t.Errorf("redacting twice changes %q to %q", once, twice)
		}
	}
	var nilR *Redactor
	if got := nilR.String("https://u:p@h/x?sig=1"); strings.Contains(got, "u:p") || strings.Contains(got, "sig=1") {
		t.Errorf("a nil Redactor must still apply the patterns: %q", got)
	}
}
