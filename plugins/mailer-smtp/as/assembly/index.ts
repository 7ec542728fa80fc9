// mailer.smtp, the first-party SMTP mailer, in AssemblyScript. The Go main package in .. is
// the reference implementation; tests/assemblyscript has both deliver the same requests to a
// test relay and requires the same envelopes and bytes, and the same answers.
//
// It composes each message (RFC 5322, multipart/alternative, quoted-printable, a Message-ID
// derived from the outbox id so retries are recognisable: the composer of mailer.outbox,
// ../../mailer-outbox/as/assembly/compose.ts) and submits it through the operator's relay with
// the smtp capability; the relay's address, STARTTLS setting and credentials stay in the host.

import { Info } from "@gatehouse/as-sdk";
import { DeliverRequest, Delivery, Mailer, registerMailer } from "@gatehouse/as-sdk/mailer";
import { send, SMTPSend } from "@gatehouse/as-sdk/smtp";
import { compose } from "../../../mailer-outbox/as/assembly/compose";

export * from "@gatehouse/as-sdk/exports/mailer";

// Permanent failures: the message cannot be composed (a bad address); the relay refused it for
// good (a 5xx answer).
const BAD_MESSAGE = "MAIL_BAD_MESSAGE";
const REJECTED = "MAIL_REJECTED";

const OUTCOME_PERMANENT: u32 = 1;

class Relay extends Mailer {
  deliver(req: DeliverRequest): Delivery {
    const c = compose(req.now, req.messageId, req.from, req.to, req.subject, req.text, req.html);
    if (c.err !== null) return Delivery.refused(BAD_MESSAGE, c.err!);
    const m = new SMTPSend();
    m.from = c.from; // the envelope: bare addresses
    m.to = c.to;
    m.data = c.message;
    const r = send(m);
    if (r.outcome == 0) return Delivery.sent();
    const msg = r.error.length > 0 ? r.error : "transport failed (" + outcomeName(r.outcome) + ")";
    if (r.outcome == OUTCOME_PERMANENT) return Delivery.refused(REJECTED, msg);
    return Delivery.retry(msg);
  }
}

function outcomeName(o: u32): string {
  return o == 1 ? "permanent" : o == 2 ? "temporary" : "unknown";
}

registerMailer(
  new Info("mailer.smtp", "SMTP relay", "1.0.0")
    .withCodes([BAD_MESSAGE, REJECTED])
    .withDescription(
      "Delivers mail through the operator's SMTP relay (GATEHOUSE_SMTP_*), with STARTTLS and AUTH as configured in the host.",
    ),
  new Relay(),
);
