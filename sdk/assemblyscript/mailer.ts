// The mailer kind: delivers one composed email (hook mailer_deliver, which may retry).

import { log, Level, readInput } from "./host";
import { DeliverRequest, Reason } from "./messages";
import { answerReasons, done, Info, Plugin, registeredAs, registerPlugin, Status } from "./plugin";

export { DeliverRequest };

/** What a delivery came to: sent (status 0), refused for good (1) or to be retried later (4). */
export class Delivery {
  private constructor(public status: i32, public reasons: Reason[], public why: string) {}

  static sent(): Delivery {
    return new Delivery(Status.OK, [], "");
  }

  /** Retrying the same message cannot succeed: `code` must be declared. */
  static refused(code: string, message: string): Delivery {
    return new Delivery(Status.DENIED, [new Reason(code, message)], "");
  }

  /** A transient failure; the host retries later. `why` goes to the log (never a secret). */
  static retry(why: string): Delivery {
    return new Delivery(Status.RETRY, [], why);
  }
}

export abstract class Mailer extends Plugin {
  abstract deliver(req: DeliverRequest): Delivery;
}

/** Registers the module's mailer (its id is "mailer.<name>"). */
export function registerMailer(info: Info, m: Mailer): void {
  registerPlugin("mailer", ["mailer_deliver"], info, m, null);
}

export function mailerDeliverCall(inLen: i32): i32 {
  const p = registeredAs("mailer");
  const req = DeliverRequest.decode(readInput(inLen));
  if (req === null) return done(Status.BAD_INPUT);
  if (p === null) return done(Status.FAILED);
  const d = (p as Mailer).deliver(req);
  if (d.status == Status.RETRY) {
    log(Level.WARN, "delivery to retry: " + d.why);
    return done(Status.RETRY);
  }
  if (d.status == Status.DENIED) return done(answerReasons(d.reasons));
  return done(Status.OK);
}
