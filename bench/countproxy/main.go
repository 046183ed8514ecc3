// Command countproxy fronts a registry and counts the bytes clients upload
// (GET /__bytes) and download (GET /__down) through it; reading resets a count.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

type counter struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c counter) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "registry URL, e.g. http://127.0.0.1:5001")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		log.Fatalf("-target: %v", err)
	}
	var n, down atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(u)
	http.HandleFunc("/__bytes", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, n.Swap(0)) })
	http.HandleFunc("/__down", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, down.Swap(0)) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = counter{r.Body, &n}
		}
		proxy.ServeHTTP(countingWriter{w, &down}, r)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
