// Command bare is the baseline of the HTTP benchmarks: a bare fasthttp handler that answers
// every request with the same bytes Gatehouse's GET /user/2fa returns for a user without 2FA.
// bench/http.sh runs wrk against both in the same run and reports the ratio.
package main

import (
	"flag"
	"log"

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
	srv := &fasthttp.Server{Handler: handler, NoDefaultServerHeader: true}
	log.Fatal(srv.ListenAndServe(*addr))
}
