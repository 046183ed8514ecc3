package xpkg

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Describe is err's text as a user reads it: the library texts that show
// Go values are rewritten, the rest kept. go-containerregistry prints a
// registry's error detail with %v (transport.Diagnostic.String,
// github.com/google/go-containerregistry@v0.22.1
// pkg/v1/remote/transport/error.go), so distribution's {"Tag": "v1"}
// reads "map[Tag:v1]" and a 401's access list "[map[Action:pull Class:
// Name:x Type:repository]]"; encoding/json names Go types ("cannot
// unmarshal string into Go value of type map[string]interface {}"); and
// pkg/name advises its own API ("use name.Insecure"). Every error that
// reaches xpdoctor's output goes through here: RegistryError.Detail and
// the last line of a failed command.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var te *transport.Error
	if errors.As(err, &te) {
		if raw := te.Error(); raw != "" {
			s = strings.Replace(s, raw, describeTransport(te), 1)
		}
	}
	return DescribeText(s)
}

// DescribeText rewrites the library texts of Describe in a text whose
// error values are gone (a message read back, an error wrapped with %v).
func DescribeText(s string) string {
	s = reDetailMap.ReplaceAllStringFunc(s, func(m string) string {
		g := reDetailMap.FindStringSubmatch(m)
		if d := describeDetailText(g[1]); d != "" {
			return " (" + d + ")" + g[2]
		}
		return m
	})
	s = strings.ReplaceAll(s, "; to connect to a registry over plain HTTP, use name.Insecure",
		": write HOST/REPOSITORY:TAG without it (plain HTTP: name the host with --insecure-registry; loopback hosts always may use it)")
	s = strings.ReplaceAll(s, "error unmarshaling JSON: while decoding JSON: ", "")
	return reJSONType.ReplaceAllStringFunc(s, func(m string) string {
		g := reJSONType.FindStringSubmatch(m)
		what := "found " + article(jsonKind(g[1])) + " where " + article(goKind(g[3])) + " was expected"
		if field := g[2]; field != "" {
			if _, f, ok := strings.Cut(field, "."); ok {
				field = f
			}
			what += " (field " + field + ")"
		}
		return what
	})
}

// reDetailMap is "; map[K:V ...]" or "; [map[...] ...]", as %v prints a
// registry's detail.
var reDetailMap = regexp.MustCompile(`; (\[?map\[[^\n]*?\]\]?)($|[;\n)])`)

// reJSONType is encoding/json's UnmarshalTypeError (encoding/json/decode.go).
var reJSONType = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go (?:struct field (\S+) of type|value of type) ((?:map\[[^\]]*\])?[\w.\[\]{}* ]+?)(?:$|[;,)\n]|: )`)

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "number":
		return "number"
	case "bool":
		return "true or false"
	case "array":
		return "list"
	case "object":
		return "object"
	}
	return k
}

func goKind(t string) string {
	t = strings.TrimSpace(t)
	switch {
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"):
		return "object"
	case strings.HasPrefix(t, "[]"):
		return "list"
	case t == "string":
		return "string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "number"
	case strings.Contains(t, "."):
		// A named type of a package: a JSON object.
		return "object"
	}
	return t
}

func article(kind string) string {
	switch kind {
	case "true or false":
		return kind
	case "object":
		return "an object"
	}
	return "a " + kind
}

// describeTransport is a registry's error answer without Go values:
// "GET URL: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown (tag v1)".
func describeTransport(te *transport.Error) string {
	prefix := ""
	if te.Request != nil {
		// The URL as transport.Error prints it (its query redacted).
		if raw := te.Error(); strings.Contains(raw, ": ") {
			prefix = raw[:strings.Index(raw, ": ")+2]
		}
	}
	if len(te.Errors) == 0 {
		return te.Error()
	}
	return prefix + describeAnswer(te)
}

// describeAnswer is a registry's error answer without the request:
// "404 Not Found: MANIFEST_UNKNOWN: manifest unknown (tag v1)".
func describeAnswer(te *transport.Error) string {
	status := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
	if len(te.Errors) == 0 {
		return status
	}
	parts := make([]string, 0, len(te.Errors))
	for _, d := range te.Errors {
		p := string(d.Code)
		if d.Message != "" {
			p += ": " + d.Message
		}
		if dt := describeDetail(d.Detail); dt != "" {
			p += " (" + dt + ")"
		}
		parts = append(parts, p)
	}
	return status + ": " + strings.Join(parts, "; ")
}

// describeDetail renders a distribution error's detail (any JSON value):
// the tag or digest missing, the access a token lacks, else compact JSON.
func describeDetail(v any) string {
	switch d := v.(type) {
	case nil:
		return ""
	case string:
		return d
	case map[string]any:
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, strings.ToLower(k)+" "+fmt.Sprint(d[k]))
		}
		return strings.Join(out, ", ")
	case []any:
		var out []string
		for _, e := range d {
			m, ok := e.(map[string]any)
			if !ok {
				out = append(out, describeDetail(e))
				continue
			}
			// The access a registry token lacks (distribution's
			// errcode.ErrorCodeUnauthorized detail: auth.Access).
			if t, n, a := m["Type"], m["Name"], m["Action"]; t != nil && n != nil && a != nil {
				out = append(out, fmt.Sprintf("needs %v access to %v %v", a, t, n))
				continue
			}
			out = append(out, describeDetail(m))
		}
		return strings.Join(out, "; ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// describeDetailText reads back a detail %v printed: "map[Tag:v1]" or
// "[map[Action:pull Class: Name:x Type:repository]]".
func describeDetailText(s string) string {
	list := strings.HasPrefix(s, "[map[")
	if list {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	var out []any
	for _, m := range reMapText.FindAllStringSubmatch(s, -1) {
		fields := map[string]any{}
		for _, kv := range reMapField.FindAllStringSubmatch(m[1], -1) {
			fields[kv[1]] = strings.TrimSpace(kv[2])
		}
		out = append(out, fields)
	}
	if len(out) == 0 {
		return ""
	}
	if !list {
		return describeDetail(out[0])
	}
	return describeDetail(out)
}

var (
	reMapText  = regexp.MustCompile(`map\[([^\]]*)\]`)
	reMapField = regexp.MustCompile(`(\w+):(\S*)`)
)
