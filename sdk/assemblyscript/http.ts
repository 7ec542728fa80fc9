// The `http` capability (module gatehouse_http_v1): a request through a connection the operator
// configured and named (GATEHOUSE_HTTP_CONNECTIONS); its base URL and credential headers stay
// in the host. Importing this file declares the capability.

import { declareCapability } from "./plugin";
import { Encoder } from "./wire";
import { HTTPRequest, HTTPResponse } from "./messages";

export { HTTPRequest, HTTPResponse };

// @ts-ignore: decorator
@external("gatehouse_http_v1", "request")
declare function http_request(req: usize, len: i32): i32;

// @ts-ignore: decorator
@external("gatehouse_http_v1", "reply_read")
declare function http_reply_read(buf: usize, limit: i32): i32;

declareCapability("http");

/**
 * Sends `req` and returns the host's reply: outcome ok with the HTTP status, headers and body
 * (whatever the status: the host does not follow redirects), or permanent/temporary with `error`.
 */
export function request(req: HTTPRequest): HTTPResponse {
  const e = new Encoder(req.body === null ? 256 : req.body!.length + 256);
  req.encodeTo(e);
  const n = http_request(e.buf.dataStart, e.len);
  const reply = new Uint8Array(n < 0 ? 0 : n);
  if (n > 0) http_reply_read(reply.dataStart, n);
  const r = HTTPResponse.decode(reply);
  if (r === null) unreachable();
  return r!;
}
