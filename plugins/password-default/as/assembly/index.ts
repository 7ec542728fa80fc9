// password.default, the first-party default password policy, in AssemblyScript. The Go
// package ../policy is the reference implementation; tests/assemblyscript feeds both the same
// passwords through the host and requires the same answers.
//
// The rules are the original service's: 8 to 256 characters (Unicode code points, as Go's
// utf8.RuneCountInString counts them), at least one uppercase letter, one lowercase letter and
// one digit, each ASCII (the original validator's /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).*$/).
// Every rule that fails is reported, in that order.

import { Info, Reason } from "@gatehouse/as-sdk";
import { PasswordCheckRequest, PasswordPolicy, registerPasswordPolicy } from "@gatehouse/as-sdk/password";

export * from "@gatehouse/as-sdk/exports/password";

const MIN_LENGTH = 8;
const MAX_LENGTH = 256;

const TOO_SHORT = "PASSWORD_TOO_SHORT";
const TOO_LONG = "PASSWORD_TOO_LONG";
const NO_UPPERCASE = "PASSWORD_NO_UPPERCASE";
const NO_LOWERCASE = "PASSWORD_NO_LOWERCASE";
const NO_DIGIT = "PASSWORD_NO_DIGIT";

// The API's sentences: do not change them.
const MSG_NO_UPPERCASE = "Password must contain at least one uppercase character";
const MSG_NO_LOWERCASE = "Password must contain at least one lowercase character";
const MSG_NO_DIGIT = "Password must contain at least one digit";

/** The number of code points of `s` (a surrogate pair is one; the host sends valid UTF-8). */
function codePoints(s: string): i32 {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

class DefaultPolicy extends PasswordPolicy {
  check(req: PasswordCheckRequest): Reason[] {
    const field = req.field.length == 0 ? "password" : req.field;
    const rs: Reason[] = [];
    const n = codePoints(req.password);
    if (n < MIN_LENGTH) {
      rs.push(new Reason(TOO_SHORT, "body/" + field + " must NOT have fewer than " + MIN_LENGTH.toString() + " characters"));
    } else if (n > MAX_LENGTH) {
      rs.push(new Reason(TOO_LONG, "body/" + field + " must NOT have more than " + MAX_LENGTH.toString() + " characters"));
    }
    // ASCII classes: a UTF-16 unit below 0x80 is the same character as the UTF-8 byte.
    let upper = false;
    let lower = false;
    let digit = false;
    const p = req.password;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) upper = true;
      else if (c >= 0x61 && c <= 0x7a) lower = true;
      else if (c >= 0x30 && c <= 0x39) digit = true;
    }
    if (!upper) rs.push(new Reason(NO_UPPERCASE, MSG_NO_UPPERCASE));
    if (!lower) rs.push(new Reason(NO_LOWERCASE, MSG_NO_LOWERCASE));
    if (!digit) rs.push(new Reason(NO_DIGIT, MSG_NO_DIGIT));
    return rs;
  }
}

registerPasswordPolicy(
  new Info("password.default", "Default password policy", "1.0.0")
    .withCodes([TOO_SHORT, TOO_LONG, NO_UPPERCASE, NO_LOWERCASE, NO_DIGIT])
    .withDescription("8 to 256 characters with at least one uppercase letter, one lowercase letter and one digit."),
  new DefaultPolicy(),
);
