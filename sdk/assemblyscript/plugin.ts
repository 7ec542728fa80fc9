// What every plugin has: its identity (Info), its configuration, the registration the kinds
// make, and the call convention of every gatehouse_* export (host/ABI.md sections 2, 3 and 7).

import { log, Level, readInput, writeOutput } from "./host";
import { Encoder } from "./wire";
import { ConfigureRequest, Descriptor, Reason, Result, TwoFactorInfo } from "./messages";

/**
 * The newest ABI minor version this SDK speaks (host/ABI.md section 8). A plugin's descriptor
 * declares the oldest it needs, so it loads on every host that can run it: 1 by default, 2 for
 * a twofactor method whose TwoFactorInfo uses a v1.2 field, or what `Info.withABIMinor` asks
 * (a plugin calling crypto's v1.2 `verifySignature` or `digest`).
 */
export const ABI_MINOR: u32 = 2;

/** The minor version a plugin declares when nothing it uses needs a newer one. */
const BASE_MINOR: u32 = 1;

/** Statuses of a gatehouse_* export (host/ABI.md section 7). */
export namespace Status {
  export const OK: i32 = 0;
  export const DENIED: i32 = 1;
  export const BAD_INPUT: i32 = 2;
  export const FAILED: i32 = 3;
  export const RETRY: i32 = 4;
}

/** Who a plugin is: the descriptor's fields an author fills in. */
export class Info {
  /** Every reason code the plugin may return (UPPER_SNAKE_CASE). */
  codes: string[] = [];
  /** One paragraph for operators. */
  description: string = "";
  /** A JSON Schema of the configuration; "" for none. */
  configSchema: string = "";
  /**
   * Capabilities beyond those the SDK's modules declare when imported (`crypto`, `http`, `smtp`,
   * `outbox` declare themselves).
   */
  capabilities: string[] = [];
  /** The ABI minor version the plugin needs at least; 0 lets the SDK decide (see ABI_MINOR). */
  abiMinor: u32 = 0;

  /** `id` is "<kind>.<name>" (lower case), `version` the plugin's own (semver advised). */
  constructor(public id: string, public name: string, public version: string) {}

  withCodes(codes: string[]): Info {
    this.codes = codes;
    return this;
  }

  withDescription(description: string): Info {
    this.description = description;
    return this;
  }

  withConfigSchema(schema: string): Info {
    this.configSchema = schema;
    return this;
  }

  /** Declares that the plugin needs ABI v1.`minor` at least (2 for crypto's v1.2 functions). */
  withABIMinor(minor: u32): Info {
    this.abiMinor = minor;
    return this;
  }
}

/** Whether a twofactor method's metadata uses a field of ABI v1.2. */
function usesV12(tf: TwoFactorInfo): bool {
  return tf.jsonFields.length > 0 || tf.clientDataFields.length > 0 || tf.additive || tf.optionalSetupFields.length > 0;
}

/** The base of every kind. */
export abstract class Plugin {
  /**
   * Called once per instance before any hook with the operator's JSON configuration (empty for
   * none). Return the reasons it is refused (each with a declared code), or an empty list.
   * The default accepts only no configuration or `{}`.
   */
  configure(config: Uint8Array): Reason[] {
    if (config.length == 0 || (config.length == 2 && config[0] == 0x7b && config[1] == 0x7d)) return [];
    return [new Reason("CONFIG_UNEXPECTED", "this plugin takes no configuration")];
  }
}

// ---- the registration ----

let registered: Plugin | null = null;
let registeredKind: string = "";
const descriptor = new Descriptor();
const declaredCaps: string[] = [];

function addUnique(list: string[], s: string): void {
  if (!list.includes(s)) list.push(s);
}

/** Called by the capability modules when they are imported: the descriptor declares them. */
export function declareCapability(cap: string): void {
  addUnique(declaredCaps, cap);
}

/**
 * Registers the module's plugin; the kinds' register functions call it. Call a kind's register
 * function once, at the top level of the entry file.
 */
export function registerPlugin(kind: string, hooks: string[], info: Info, p: Plugin, twofactor: TwoFactorInfo | null): void {
  if (registered !== null) abort("a plugin is already registered");
  registered = p;
  registeredKind = kind;
  let minor = BASE_MINOR;
  if (twofactor !== null && usesV12(twofactor)) minor = 2;
  if (info.abiMinor > minor) minor = info.abiMinor;
  if (minor > ABI_MINOR) abort("the plugin asks for an ABI minor version this SDK does not speak");
  descriptor.abiMinor = minor;
  descriptor.id = info.id;
  descriptor.name = info.name;
  descriptor.version = info.version;
  descriptor.kind = kind;
  descriptor.hooks = hooks;
  descriptor.codes = info.codes;
  descriptor.configSchema = info.configSchema;
  descriptor.description = info.description;
  descriptor.twofactor = twofactor;
  for (let i = 0; i < info.capabilities.length; i++) addUnique(declaredCaps, unchecked(info.capabilities[i]));
}

/** The registered plugin if it is of `kind`, else null (the call then fails closed). */
export function registeredAs(kind: string): Plugin | null {
  return registeredKind == kind ? registered : null;
}

// ---- the call convention ----

/** Writes `e`'s bytes as the call's output. */
export function output(e: Encoder): void {
  writeOutput(e.buf, e.len);
}

/** Ends a call: everything it allocated is garbage now (runtime `minimal`, see README). */
export function done(status: i32): i32 {
  __collect();
  return status;
}

/** Writes a Result with `reasons`; status 1 if there are any, else 0. */
export function answerReasons(reasons: Reason[]): i32 {
  if (reasons.length == 0) return Status.OK;
  const r = new Result();
  r.reasons = reasons;
  const e = new Encoder(256);
  r.encodeTo(e);
  output(e);
  return Status.DENIED;
}

export function describeCall(inLen: i32): i32 {
  if (registered === null) {
    log(Level.ERROR, "no plugin registered: call a register function at the top level of the entry file");
    return done(Status.FAILED);
  }
  const d = descriptor;
  const caps: string[] = [];
  for (let i = 0; i < declaredCaps.length; i++) addUnique(caps, unchecked(declaredCaps[i]));
  d.capabilities = caps;
  const e = new Encoder(512);
  d.encodeTo(e);
  output(e);
  return done(Status.OK);
}

export function configureCall(inLen: i32): i32 {
  const p = registered;
  const req = ConfigureRequest.decode(readInput(inLen));
  if (req === null) return done(Status.BAD_INPUT);
  if (p === null) return done(Status.FAILED);
  return done(answerReasons(p.configure(req.config)));
}
