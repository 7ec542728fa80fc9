// The `smtp` capability (module gatehouse_smtp_v1): submission of a composed message through
// the operator's relay; the relay's address and credentials stay in the host. Importing this
// file declares the capability.

import { declareCapability } from "./plugin";
import { Encoder } from "./wire";
import { Reply, SMTPSend } from "./messages";

export { Reply, SMTPSend };

// @ts-ignore: decorator
@external("gatehouse_smtp_v1", "send")
declare function smtp_send(req: usize, len: i32): i32;

// @ts-ignore: decorator
@external("gatehouse_smtp_v1", "reply_read")
declare function smtp_reply_read(buf: usize, limit: i32): i32;

declareCapability("smtp");

/**
 * Sends `msg` and returns the host's reply (outcome ok, permanent or temporary; the relay's
 * code). Blocks until the relay answered or the hook's deadline. A reply the SDK cannot read
 * traps (it never happens with a conforming host).
 */
export function send(msg: SMTPSend): Reply {
  const e = new Encoder(msg.data === null ? 256 : msg.data!.length + 256);
  msg.encodeTo(e);
  const n = smtp_send(e.buf.dataStart, e.len);
  const reply = new Uint8Array(n < 0 ? 0 : n);
  if (n > 0) smtp_reply_read(reply.dataStart, n);
  const r = Reply.decode(reply);
  if (r === null) unreachable();
  return r!;
}
