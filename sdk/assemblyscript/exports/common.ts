// The exports every plugin has (host/ABI.md section 2); the kinds' export files re-export them.

import { configureCall, describeCall } from "../plugin";

/** The ABI v1 marker (never called). */
export function gatehouse_abi_v1(): void {}

export function gatehouse_describe(inLen: i32): i32 {
  return describeCall(inLen);
}

export function gatehouse_configure(inLen: i32): i32 {
  return configureCall(inLen);
}
