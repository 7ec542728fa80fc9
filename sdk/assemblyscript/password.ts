// The password kind: a policy that accepts or refuses a candidate password
// (hook password_check, host/ABI.md section 7).

import { readInput } from "./host";
import { PasswordCheckRequest, Reason } from "./messages";
import { answerReasons, done, Info, Plugin, registeredAs, registerPlugin, Status } from "./plugin";

export { PasswordCheckRequest };

/** A password policy. Return the reasons a password is refused, or an empty list to accept it. */
export abstract class PasswordPolicy extends Plugin {
  abstract check(req: PasswordCheckRequest): Reason[];
}

/** Registers the module's policy (its id is "password.<name>"). */
export function registerPasswordPolicy(info: Info, policy: PasswordPolicy): void {
  registerPlugin("password", ["password_check"], info, policy, null);
}

export function passwordCheckCall(inLen: i32): i32 {
  const p = registeredAs("password");
  const req = PasswordCheckRequest.decode(readInput(inLen));
  if (req === null) return done(Status.BAD_INPUT);
  if (p === null) return done(Status.FAILED);
  return done(answerReasons((p as PasswordPolicy).check(req)));
}
