// @gatehouse/as-sdk: the Gatehouse plugin ABI v1 (host/ABI.md) for AssemblyScript.
//
// A plugin's entry file registers one plugin of one kind and re-exports that kind's exports:
//
//     import { Info, Reason } from "@gatehouse/as-sdk";
//     import { PasswordPolicy, PasswordCheckRequest, registerPasswordPolicy } from "@gatehouse/as-sdk/password";
//     export * from "@gatehouse/as-sdk/exports/password";
//
// See README.md for the build settings (asconfig.json) and a walk-through.

export { Info, Plugin, Status, ABI_MINOR } from "./plugin";
export { Level, log, logEnabled, randomBytes } from "./host";
export { Encoder, Decoder, decodeUTF8 } from "./wire";
export { Reason, Result } from "./messages";
