// The exports of a second-factor method: `export * from "@gatehouse/as-sdk/exports/twofactor";`
// (twofactor_challenge is exported always and declared only by methods that send challenges).

import { activateCall, challengeCall, enrollCall, verifyCall } from "../twofactor";

export { gatehouse_abi_v1, gatehouse_describe, gatehouse_configure } from "./common";

export function gatehouse_twofactor_enroll(inLen: i32): i32 {
  return enrollCall(inLen);
}

export function gatehouse_twofactor_activate(inLen: i32): i32 {
  return activateCall(inLen);
}

export function gatehouse_twofactor_challenge(inLen: i32): i32 {
  return challengeCall(inLen);
}

export function gatehouse_twofactor_verify(inLen: i32): i32 {
  return verifyCall(inLen);
}
