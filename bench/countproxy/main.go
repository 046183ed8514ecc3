// Command countproxy fronts a registry like a distant one: it adds a fixed
// latency to every request (-latency 25ms: real registries such as ECR
// answer in 20 to 80 ms, and on bare loopback the number of round trips is
// invisible) and counts requests (GET /__requests), bytes clients upload
// (GET /__bytes) and download (GET /__down); reading a count resets it.
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
	"time"
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
	latency := flag.Duration("latency", 0, "delay added before each request is forwarded")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		log.Fatalf("-target: %v", err)
	}
	var up, down, requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1
	http.HandleFunc("/__bytes", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, up.Swap(0)) })
	http.HandleFunc("/__down", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, down.Swap(0)) })
	http.HandleFunc("/__requests", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, requests.Swap(0)) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if *latency > 0 {
			time.Sleep(*latency)
		}
		if r.Body != nil {
			r.Body = counter{r.Body, &up}
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
