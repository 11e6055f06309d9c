// Command receiver is a stand-in chat webhook for `make demo`: it listens on a loopback address
// and prints the body of every request it receives, one per line, so the demo can show the
// notifications Greenlight sends.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "loopback address to listen on")
	flag.Parse()
	server := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
			fmt.Printf("%s %s\n", time.Now().UTC().Format(time.TimeOnly), body)
		}),
	}
	if err := server.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}
