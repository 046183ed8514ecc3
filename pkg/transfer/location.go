package transfer

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Kind is the kind of an endpoint.
type Kind string

// Endpoint kinds.
const (
	// Registry is an OCI distribution registry.
	Registry Kind = "registry"
	// Layout is an OCI image layout directory, written oci:DIR.
	Layout Kind = "oci"
	// Archive is a tarball of an OCI image layout, written oci-archive:FILE.
	Archive Kind = "oci-archive"
)

// Endpoint is one side of a transfer.
type Endpoint struct {
	Kind Kind `json:"kind"`
	// Path is the layout directory or archive file.
	Path string `json:"path,omitempty"`
	// Ref is the registry reference; in a layout or archive, the reference
	// recorded in index.json (annotation org.opencontainers.image.ref.name).
	Ref string `json:"ref"`
}

// String renders the endpoint as the user writes it.
func (e Endpoint) String() string {
	if e.Kind == Registry {
		return e.Ref
	}
	return fmt.Sprintf("%s:%s (%s)", e.Kind, e.Path, e.Ref)
}

// Location returns "oci:DIR", "oci-archive:FILE" or the reference.
func (e Endpoint) Location() string {
	if e.Kind == Registry {
		return e.Ref
	}
	return string(e.Kind) + ":" + e.Path
}

// ParseLocation reads a command-line location: oci:DIR, oci-archive:FILE,
// or anything else as a registry reference or prefix (returned in path).
func ParseLocation(s string) (Kind, string) {
	switch {
	case strings.HasPrefix(s, "oci:"):
		return Layout, strings.TrimPrefix(s, "oci:")
	case strings.HasPrefix(s, "oci-archive:"):
		return Archive, strings.TrimPrefix(s, "oci-archive:")
	}
	return Registry, s
}

// DestinationError refuses a destination before anything is written, with
// the reference that was probably meant.
type DestinationError struct {
	Given, Reason, Suggest string
}

func (e *DestinationError) Error() string {
	return fmt.Sprintf("destination %s %s; did you mean %s?", e.Given, e.Reason, e.Suggest)
}

// CheckDestination refuses a registry destination that names no tag or
// digest (it would silently become :latest) or ends with "/" (it passes
// reference parsing and fails in the middle of the upload with
// BLOB_UPLOAD_UNKNOWN), suggesting the destination with the source's
// repository name and tag.
func CheckDestination(src, dst string) error {
	srcName, srcID := lastElement(src)
	if strings.HasSuffix(dst, "/") {
		return &DestinationError{Given: dst, Reason: "ends with \"/\" and names no repository", Suggest: strings.TrimRight(dst, "/") + "/" + srcName + srcID}
	}
	if _, id := lastElement(dst); id == "" {
		if srcID == "" || strings.HasPrefix(srcID, "@") {
			srcID = ":TAG"
		}
		return &DestinationError{Given: dst, Reason: "names no tag (it would silently become :latest)", Suggest: dst + srcID}
	}
	return nil
}

// lastElement splits the last path element of a reference into its name
// and its ":tag" or "@digest" ("" when it has neither).
func lastElement(ref string) (string, string) {
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.Index(last, "@"); i >= 0 {
		return last[:i], last[i:]
	}
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[:i], last[i:]
	}
	return last, ""
}

func parentDir(p string) string { return filepath.Dir(p) }
