// twofactor.email-otp, the first-party email OTP method, in AssemblyScript, served at
// /user/2fa/email-otp. The Go package ../emailotp is the reference implementation;
// tests/assemblyscript feeds both the same states, codes and times through the host and
// requires the same answers (and the same messages, but for the random code).
//
// A 6-digit code from the host's cryptographic source, mailed to the address given at setup,
// single use, valid 10 minutes, dead after 5 wrong tries; a new send replaces the pending
// code. Email is a weaker channel than an authenticator app (NIST SP 800-63B): the method says
// so (weak).
//
// The state, which the host keeps sealed, is the Go method's, in the ABI's wire format: field 1
// the address, 2 the pending code ("" for none), 3 its expiry (Unix nanoseconds), 4 the wrong
// tries. A state from either implementation is read by the other.

import { Decoder, Encoder, Info, Reason, randomBytes } from "@gatehouse/as-sdk";
import {
  Message,
  registerTwoFactorMethod,
  TwoFactorCodes,
  TwoFactorInfo,
  TwoFactorMethod,
  TwoFactorRequest,
  TwoFactorResult,
} from "@gatehouse/as-sdk/twofactor";

export * from "@gatehouse/as-sdk/exports/twofactor";

const LIFETIME_MINUTES: i64 = 10;
const LIFETIME_NANOS: i64 = LIFETIME_MINUTES * 60 * 1_000_000_000;
const MAX_TRIES: i64 = 5;
const DIGITS = 6;

const TEMPLATE_SETUP = "email-otp-setup";
const TEMPLATE_CHALLENGE = "email-otp-challenge";

const INVALID = "OTP_INVALID_EXPIRED";
const NO_ADDRESS = "EMAIL_OTP_NO_ADDRESS";

/** One user's state: the address and the pending code. */
class State {
  email: string = "";
  code: string = "";
  expiresAt: i64 = 0;
  tries: i64 = 0; // Go's int, 64 bits under GOARCH=wasm: a huge uint64 reads as negative

  marshal(): Uint8Array {
    const e = new Encoder(64);
    e.string(1, this.email);
    e.string(2, this.code);
    e.int(3, this.expiresAt);
    e.uint(4, <u64>this.tries);
    return e.finish();
  }

  /** Null for a state that does not decode or has no address (the call then fails). */
  static unmarshal(b: Uint8Array | null): State | null {
    const s = new State();
    if (b === null) return null;
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: s.email = d.string(); break;
        case 2: s.code = d.string(); break;
        case 3: s.expiresAt = d.int(); break;
        case 4: s.tries = <i64>d.uint(); break;
      }
    }
    if (d.failed || s.email.length == 0) return null;
    return s;
  }
}

/** 6 decimal digits from the cryptographic source, without modulo bias. */
function generate(): string {
  let n: u32;
  do {
    const b = randomBytes(4);
    n = (<u32>b[0] << 24) | (<u32>b[1] << 16) | (<u32>b[2] << 8) | <u32>b[3];
  } while (n >= 4_294_000_000); // a multiple of 10^6: below it, n % 10^6 is uniform
  let s = (n % 1_000_000).toString();
  while (s.length < DIGITS) s = "0" + s;
  return s;
}

/** A new code (replacing any pending one) and the message that carries it. */
function send(st: State, now: i64, template: string): TwoFactorResult {
  const code = generate();
  st.code = code;
  st.expiresAt = now + LIFETIME_NANOS;
  st.tries = 0;
  const r = new TwoFactorResult();
  r.state = st.marshal();
  r.messages.push(new Message(template, st.email, ["Code", code, "ExpiresMinutes", LIFETIME_MINUTES.toString()]));
  return r;
}

/** Whether the UTF-8 bytes of a and b are the same, without an early exit. */
function sameBytes(a: string, b: string): bool {
  const x = Uint8Array.wrap(String.UTF8.encode(a));
  const y = Uint8Array.wrap(String.UTF8.encode(b));
  if (x.length != y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= <i32>(x[i] ^ y[i]);
  return diff == 0;
}

class EmailOTP extends TwoFactorMethod {
  sendsChallenges(): bool {
    return true;
  }

  /** setup: a code to the address of the setup body. */
  enroll(req: TwoFactorRequest): TwoFactorResult {
    const email = req.param("email");
    if (email.length == 0) return TwoFactorResult.denied(NO_ADDRESS, "An email address is required");
    const st = new State();
    st.email = email;
    return send(st, req.now, TEMPLATE_SETUP);
  }

  /** A new code to the active address. */
  challenge(req: TwoFactorRequest): TwoFactorResult {
    const st = State.unmarshal(req.state);
    if (st === null) return TwoFactorResult.failure("emailotp: unreadable state");
    return send(st, req.now, TEMPLATE_CHALLENGE);
  }

  /** enable: the code mailed at setup, checked as verify does. */
  activate(req: TwoFactorRequest): TwoFactorResult {
    return this.verify(req);
  }

  /** A right code is used up; a wrong one counts a try, and the fifth kills the code. */
  verify(req: TwoFactorRequest): TwoFactorResult {
    const st = State.unmarshal(req.state);
    if (st === null) return TwoFactorResult.failure("emailotp: unreadable state");
    const ok = st.code.length > 0 && st.tries < MAX_TRIES && req.now < st.expiresAt && sameBytes(st.code, req.code);
    if (ok) {
      st.code = "";
      st.tries = 0;
      st.expiresAt = 0;
    } else {
      st.tries++;
      if (st.tries >= MAX_TRIES) st.code = "";
    }
    const r = new TwoFactorResult();
    r.state = st.marshal();
    r.publicPairs = ["email", st.email];
    if (!ok) r.reasons.push(new Reason(INVALID, "Invalid or expired code"));
    return r;
  }
}

const codes = new TwoFactorCodes();
codes.invalid = INVALID;
codes.inactive = "EMAIL_OTP_INACTIVE";
codes.tooManySends = "TOO_MANY_OTP_EMAILS";

const method = new TwoFactorInfo();
method.summaryKey = "emailOtp";
method.codeField = "otp";
method.codeLength = DIGITS;
method.setupFields = ["email"];
method.weak = true;
method.codePrefix = "EMAIL_OTP";
method.codes = codes;

registerTwoFactorMethod(
  new Info("twofactor.email-otp", "Email OTP", "1.0.0")
    .withCodes([INVALID, NO_ADDRESS])
    .withDescription(
      "6-digit codes mailed to an address confirmed at setup; valid 10 minutes, 5 tries. Weaker than an authenticator app.",
    ),
  method,
  new EmailOTP(),
);
