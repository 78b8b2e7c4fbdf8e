// Package web is the chat page: one HTML file, its stylesheet and script,
// and the chart libraries (vega, vega-lite, vega-embed) copied unchanged
// from node_modules by `make web-vendor`, all embedded in the binary so
// the local server and the Lambda function serve the same bytes with no
// CDN at run time. Every URL in the page is relative, so it works at the
// root locally and under an API Gateway stage path such as /Prod/.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html assets
var files embed.FS

// Files returns the page's files: index.html at the root and everything
// under assets/.
func Files() fs.FS { return files }

// Vendored lists the files of assets/vendor with the node_modules file
// each is a copy of, so a test can check they are identical.
func Vendored() map[string]string {
	return map[string]string{
		"assets/vendor/vega.min.js":       "node_modules/vega/build/vega.min.js",
		"assets/vendor/vega-lite.min.js":  "node_modules/vega-lite/build/vega-lite.min.js",
		"assets/vendor/vega-embed.min.js": "node_modules/vega-embed/build/vega-embed.min.js",
	}
}
