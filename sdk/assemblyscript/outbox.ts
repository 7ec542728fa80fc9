// The `outbox` capability (module gatehouse_outbox_v1): a message written as a file into the
// operator's development folder (<message_id>.eml, atomically). Importing this file declares
// the capability.

import { declareCapability } from "./plugin";
import { Encoder } from "./wire";
import { OutboxWrite, Reply } from "./messages";

export { OutboxWrite, Reply };

// @ts-ignore: decorator
@external("gatehouse_outbox_v1", "write")
declare function outbox_write(req: usize, len: i32): i32;

// @ts-ignore: decorator
@external("gatehouse_outbox_v1", "reply_read")
declare function outbox_reply_read(buf: usize, limit: i32): i32;

declareCapability("outbox");

/** Writes `msg` into the operator's folder and returns the host's reply. */
export function write(msg: OutboxWrite): Reply {
  const e = new Encoder(msg.data === null ? 256 : msg.data!.length + 256);
  msg.encodeTo(e);
  const n = outbox_write(e.buf.dataStart, e.len);
  const reply = new Uint8Array(n < 0 ? 0 : n);
  if (n > 0) outbox_reply_read(reply.dataStart, n);
  const r = Reply.decode(reply);
  if (r === null) unreachable();
  return r!;
}
