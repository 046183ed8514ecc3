// Package docs holds the documentation that the binary serves as well as
// the repository shows: docs/findings.md is the one source of what each
// finding code means (package findings parses it; `mcp`'s explain tool and
// the docs test read the same bytes).
package docs

import _ "embed"

// Findings is docs/findings.md.
//
//go:embed findings.md
var Findings string
