// The exports of a password policy: `export * from "@gatehouse/as-sdk/exports/password";`

import { passwordCheckCall } from "../password";

export { gatehouse_abi_v1, gatehouse_describe, gatehouse_configure } from "./common";

export function gatehouse_password_check(inLen: i32): i32 {
  return passwordCheckCall(inLen);
}
