// The exports of a mailer: `export * from "@gatehouse/as-sdk/exports/mailer";`

import { mailerDeliverCall } from "../mailer";

export { gatehouse_abi_v1, gatehouse_describe, gatehouse_configure } from "./common";

export function gatehouse_mailer_deliver(inLen: i32): i32 {
  return mailerDeliverCall(inLen);
}
