// mailer.outbox, the first-party development mailer, in AssemblyScript. The Go main package in
// .. is the reference implementation; tests/assemblyscript has both deliver the same requests
// and requires the same files, byte for byte, and the same answers.
//
// It composes each message as the SMTP mailer does (./compose.ts, the Go SDK's mailer.Compose)
// and writes it as <outbox folder>/<message id>.eml with the outbox capability (the host picks
// the folder, <data>/outbox, and logs each file). Writing the same id again replaces the file,
// so a retried delivery makes no duplicate.

import { Info } from "@gatehouse/as-sdk";
import { DeliverRequest, Delivery, Mailer, registerMailer } from "@gatehouse/as-sdk/mailer";
import { OutboxWrite, write } from "@gatehouse/as-sdk/outbox";
import { compose } from "./compose";

export * from "@gatehouse/as-sdk/exports/mailer";

// A permanent failure: the message cannot be composed or named (a bad address, a bad id).
const BAD_MESSAGE = "MAIL_BAD_MESSAGE";

const OUTCOME_PERMANENT: u32 = 1;

class Folder extends Mailer {
  deliver(req: DeliverRequest): Delivery {
    const c = compose(req.now, req.messageId, req.from, req.to, req.subject, req.text, req.html);
    if (c.err !== null) return Delivery.refused(BAD_MESSAGE, c.err!);
    const w = new OutboxWrite();
    w.messageId = req.messageId;
    w.data = c.message;
    const r = write(w);
    if (r.outcome == 0) return Delivery.sent();
    const msg = r.error.length > 0 ? r.error : "transport failed (" + outcomeName(r.outcome) + ")";
    if (r.outcome == OUTCOME_PERMANENT) return Delivery.refused(BAD_MESSAGE, msg);
    return Delivery.retry(msg);
  }
}

function outcomeName(o: u32): string {
  return o == 1 ? "permanent" : o == 2 ? "temporary" : "unknown";
}

registerMailer(
  new Info("mailer.outbox", "Outbox folder (development)", "1.0.0")
    .withCodes([BAD_MESSAGE])
    .withDescription(
      "Writes each message as an .eml file into the outbox folder of the data folder instead of sending it; for development.",
    ),
  new Folder(),
);
