// Command bare is the baseline of the HTTP benchmarks: a bare fasthttp handler that answers
// every request with the same bytes Gatehouse's GET /user/2fa returns for a user without 2FA.
// bench/http.sh runs wrk against both in the same run and reports the ratio.
package main

import (
	"flag"
	"log"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	body := flag.String("body", `{"enabled":false,"methods":[]}`, "response body")
	flag.Parse()
	b := []byte(*body)
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("application/json; charset=utf-8")
		ctx.Response.SetBody(b)
	}
	// The same server settings as Gatehouse's (core/server), so only the handler differs.
	srv := &fasthttp.Server{
		Handler:               handler,
		ReadBufferSize:        16 << 10,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
	}
	log.Fatal(srv.ListenAndServe(*addr))
}
