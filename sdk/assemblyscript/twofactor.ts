// The twofactor kind: a second-factor method (hooks twofactor_enroll, _activate, _challenge,
// _verify; host/ABI.md section 7, "Twofactor methods"). The host keeps the state, counts the
// guesses, limits the sends and refuses replays; the method only decides.

import { log, Level, readInput } from "./host";
import { Encoder } from "./wire";
import { Reason, TwoFactorCodes, TwoFactorInfo, TwoFactorRequest, TwoFactorResult, Message } from "./messages";
import { done, Info, output, Plugin, registeredAs, registerPlugin, Status } from "./plugin";

export { TwoFactorCodes, TwoFactorInfo, TwoFactorRequest, TwoFactorResult, Message };

/**
 * A second-factor method. Each hook returns a TwoFactorResult: `TwoFactorResult.accepted(key)`
 * (status 0), `.denied(code, message)` (status 1, the code becomes the 401's message code), or
 * `.failure(why)` (status 3, a 500: for a state it cannot read). Keep nothing between calls:
 * what must persist goes in `state`, which the host stores and passes back.
 */
export abstract class TwoFactorMethod extends Plugin {
  /** setup: a new secret; must return a state. `req.state` is null. */
  abstract enroll(req: TwoFactorRequest): TwoFactorResult;
  /** enable: the first code, with the pending state enroll returned. */
  abstract activate(req: TwoFactorRequest): TwoFactorResult;
  /** authenticate: a code, with the active state. */
  abstract verify(req: TwoFactorRequest): TwoFactorResult;
  /** Methods that send a code (email) override this and `sendsChallenges`. */
  challenge(req: TwoFactorRequest): TwoFactorResult {
    return TwoFactorResult.failure("this method sends no challenges");
  }
  /** True declares the hook twofactor_challenge (and the routes /challenge, /next-email). */
  sendsChallenges(): bool {
    return false;
  }
}

/** Registers the module's method (its id is "twofactor.<name>") with its metadata. */
export function registerTwoFactorMethod(info: Info, method: TwoFactorInfo, m: TwoFactorMethod): void {
  const hooks = ["twofactor_enroll", "twofactor_activate", "twofactor_verify"];
  if (m.sendsChallenges()) hooks.push("twofactor_challenge");
  registerPlugin("twofactor", hooks, info, m, method);
}

const ENROLL = 0;
const ACTIVATE = 1;
const CHALLENGE = 2;
const VERIFY = 3;

export function twoFactorCall(hook: i32, inLen: i32): i32 {
  const p = registeredAs("twofactor");
  const req = TwoFactorRequest.decode(readInput(inLen));
  if (req === null) return done(Status.BAD_INPUT);
  if (p === null) return done(Status.FAILED);
  const m = p as TwoFactorMethod;
  let res: TwoFactorResult;
  switch (hook) {
    case ENROLL: res = m.enroll(req); break;
    case ACTIVATE: res = m.activate(req); break;
    case CHALLENGE: res = m.challenge(req); break;
    default: res = m.verify(req); break;
  }
  const failure = res.failure;
  if (failure !== null) {
    log(Level.ERROR, failure);
    return done(Status.FAILED);
  }
  const e = new Encoder(256);
  res.encodeTo(e);
  output(e);
  return done(res.reasons.length > 0 ? Status.DENIED : Status.OK);
}

export function enrollCall(inLen: i32): i32 {
  return twoFactorCall(ENROLL, inLen);
}
export function activateCall(inLen: i32): i32 {
  return twoFactorCall(ACTIVATE, inLen);
}
export function challengeCall(inLen: i32): i32 {
  return twoFactorCall(CHALLENGE, inLen);
}
export function verifyCall(inLen: i32): i32 {
  return twoFactorCall(VERIFY, inLen);
}

/** A denial's reason, for methods that build results by hand. */
export function reason(code: string, message: string): Reason {
  return new Reason(code, message);
}
