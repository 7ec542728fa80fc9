// The messages of sdk/abi/abi.proto (field numbers and meanings are there), each with an
// encoder and a decoder. Field rules: zero values are not written; every element of a repeated
// string is written, empty ones too; a byte string that is null is absent, an empty one is
// present (proto3 `optional bytes`). Decoders skip unknown fields and return null for a
// malformed message (the SDK then answers status 2, bad_input).

import { Decoder, Encoder } from "./wire";

function decodeReason(d: Decoder): Reason {
  const r = new Reason("", "");
  while (d.next()) {
    if (d.field == 1) r.code = d.string();
    else if (d.field == 2) r.message = d.string();
  }
  return r;
}

function encodeReasons(e: Encoder, reasons: Reason[]): void {
  for (let i = 0; i < reasons.length; i++) {
    const sub = new Encoder();
    unchecked(reasons[i]).encodeTo(sub);
    e.message(1, sub);
  }
}

// ---- describe ----

export class HostInfo {
  abiMinor: u32 = 0;
  hostVersion: string = "";

  encodeTo(e: Encoder): void {
    e.uint(1, this.abiMinor);
    e.string(2, this.hostVersion);
  }

  static decode(b: Uint8Array): HostInfo | null {
    const m = new HostInfo();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) m.abiMinor = <u32>d.uint();
      else if (d.field == 2) m.hostVersion = d.string();
    }
    return d.failed ? null : m;
  }
}

export class TwoFactorCodes {
  invalid: string = "";
  uninitialized: string = "";
  inactive: string = "";
  alreadyInactive: string = "";
  tooMany: string = "";
  tooManySends: string = "";
  corrupt: string = "";

  isEmpty(): bool {
    return (
      this.invalid.length == 0 && this.uninitialized.length == 0 && this.inactive.length == 0 &&
      this.alreadyInactive.length == 0 && this.tooMany.length == 0 && this.tooManySends.length == 0 &&
      this.corrupt.length == 0
    );
  }

  encodeTo(e: Encoder): void {
    e.string(1, this.invalid);
    e.string(2, this.uninitialized);
    e.string(3, this.inactive);
    e.string(4, this.alreadyInactive);
    e.string(5, this.tooMany);
    e.string(6, this.tooManySends);
    e.string(7, this.corrupt);
  }

  static decodeFrom(d: Decoder): TwoFactorCodes {
    const m = new TwoFactorCodes();
    while (d.next()) {
      switch (d.field) {
        case 1: m.invalid = d.string(); break;
        case 2: m.uninitialized = d.string(); break;
        case 3: m.inactive = d.string(); break;
        case 4: m.alreadyInactive = d.string(); break;
        case 5: m.tooMany = d.string(); break;
        case 6: m.tooManySends = d.string(); break;
        case 7: m.corrupt = d.string(); break;
      }
    }
    return m;
  }
}

/** A twofactor method's metadata (routes, body field, code length, message codes). */
export class TwoFactorInfo {
  route: string = "";
  summaryKey: string = "";
  codeField: string = "";
  codeLength: u32 = 0;
  setupFields: string[] = [];
  weak: bool = false;
  codePrefix: string = "";
  codes: TwoFactorCodes = new TwoFactorCodes();
  replayWindowSeconds: u32 = 0;
  /** v1.2: which of codeField, setupFields and optionalSetupFields take a JSON object. */
  jsonFields: string[] = [];
  /** v1.2: the properties TwoFactorResult.clientData may carry ("publicKey"). */
  clientDataFields: string[] = [];
  /** v1.2: several credentials; enroll and activate get the active state. */
  additive: bool = false;
  /** v1.2: properties the setup body may carry ("name"), in params when present. */
  optionalSetupFields: string[] = [];

  encodeTo(e: Encoder): void {
    e.string(1, this.route);
    e.string(2, this.summaryKey);
    e.string(3, this.codeField);
    e.uint(4, this.codeLength);
    e.repeated(5, this.setupFields);
    e.bool(6, this.weak);
    e.string(7, this.codePrefix);
    if (!this.codes.isEmpty()) {
      const sub = new Encoder();
      this.codes.encodeTo(sub);
      e.message(8, sub);
    }
    e.uint(9, this.replayWindowSeconds);
    e.repeated(10, this.jsonFields);
    e.repeated(11, this.clientDataFields);
    e.bool(12, this.additive);
    e.repeated(13, this.optionalSetupFields);
  }

  static decodeFrom(d: Decoder): TwoFactorInfo {
    const m = new TwoFactorInfo();
    while (d.next()) {
      switch (d.field) {
        case 1: m.route = d.string(); break;
        case 2: m.summaryKey = d.string(); break;
        case 3: m.codeField = d.string(); break;
        case 4: m.codeLength = <u32>d.uint(); break;
        case 5: m.setupFields.push(d.string()); break;
        case 6: m.weak = d.bool(); break;
        case 7: m.codePrefix = d.string(); break;
        case 8: {
          const sub = d.message();
          m.codes = TwoFactorCodes.decodeFrom(sub);
          if (sub.failed) d.failed = true;
          break;
        }
        case 9: m.replayWindowSeconds = <u32>d.uint(); break;
        case 10: m.jsonFields.push(d.string()); break;
        case 11: m.clientDataFields.push(d.string()); break;
        case 12: m.additive = d.bool(); break;
        case 13: m.optionalSetupFields.push(d.string()); break;
      }
    }
    return m;
  }
}

export class Descriptor {
  abiMinor: u32 = 0;
  id: string = "";
  name: string = "";
  version: string = "";
  kind: string = "";
  hooks: string[] = [];
  capabilities: string[] = [];
  codes: string[] = [];
  configSchema: string = "";
  description: string = "";
  twofactor: TwoFactorInfo | null = null;

  encodeTo(e: Encoder): void {
    e.uint(1, this.abiMinor);
    e.string(2, this.id);
    e.string(3, this.name);
    e.string(4, this.version);
    e.string(5, this.kind);
    e.repeated(6, this.hooks);
    e.repeated(7, this.capabilities);
    e.repeated(8, this.codes);
    e.string(9, this.configSchema);
    e.string(10, this.description);
    const tf = this.twofactor;
    if (tf !== null) {
      const sub = new Encoder();
      tf.encodeTo(sub);
      e.message(11, sub);
    }
  }

  static decode(b: Uint8Array): Descriptor | null {
    const m = new Descriptor();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.abiMinor = <u32>d.uint(); break;
        case 2: m.id = d.string(); break;
        case 3: m.name = d.string(); break;
        case 4: m.version = d.string(); break;
        case 5: m.kind = d.string(); break;
        case 6: m.hooks.push(d.string()); break;
        case 7: m.capabilities.push(d.string()); break;
        case 8: m.codes.push(d.string()); break;
        case 9: m.configSchema = d.string(); break;
        case 10: m.description = d.string(); break;
        case 11: {
          const sub = d.message();
          m.twofactor = TwoFactorInfo.decodeFrom(sub);
          if (sub.failed) d.failed = true;
          break;
        }
      }
    }
    return d.failed ? null : m;
  }
}

// ---- configure ----

export class ConfigureRequest {
  /** The operator's JSON configuration; empty for none. */
  config: Uint8Array = new Uint8Array(0);

  encodeTo(e: Encoder): void {
    if (this.config.length > 0) e.blob(1, this.config);
  }

  static decode(b: Uint8Array): ConfigureRequest | null {
    const m = new ConfigureRequest();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) m.config = d.bytes();
    }
    return d.failed ? null : m;
  }
}

// ---- results ----

/** One reason for a denial: a declared code and the sentence shown to the user. */
export class Reason {
  constructor(public code: string, public message: string) {}

  encodeTo(e: Encoder): void {
    e.string(1, this.code);
    e.string(2, this.message);
  }
}

/** The output of configure, password_check and mailer_deliver. */
export class Result {
  reasons: Reason[] = [];

  encodeTo(e: Encoder): void {
    encodeReasons(e, this.reasons);
  }

  static decode(b: Uint8Array): Result | null {
    const m = new Result();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) {
        const sub = d.message();
        m.reasons.push(decodeReason(sub));
        if (sub.failed) d.failed = true;
      }
    }
    return d.failed ? null : m;
  }
}

// ---- password ----

export class PasswordCheckRequest {
  /** The host's wall clock, Unix nanoseconds. */
  now: i64 = 0;
  requestId: string = "";
  password: string = "";
  email: string = "";
  field: string = "";
  serviceName: string = "";

  encodeTo(e: Encoder): void {
    e.int(1, this.now);
    e.string(2, this.requestId);
    e.string(8, this.password);
    e.string(9, this.email);
    e.string(10, this.field);
    e.string(11, this.serviceName);
  }

  static decode(b: Uint8Array): PasswordCheckRequest | null {
    const m = new PasswordCheckRequest();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.now = d.int(); break;
        case 2: m.requestId = d.string(); break;
        case 8: m.password = d.string(); break;
        case 9: m.email = d.string(); break;
        case 10: m.field = d.string(); break;
        case 11: m.serviceName = d.string(); break;
      }
    }
    return d.failed ? null : m;
  }
}

// ---- twofactor ----

export class TwoFactorRequest {
  /** The host's wall clock, Unix nanoseconds: decide with it, not the WASI clock. */
  now: i64 = 0;
  requestId: string = "";
  userId: string = "";
  email: string = "";
  serviceName: string = "";
  /** What the plugin returned last time; null at enroll. */
  state: Uint8Array | null = null;
  code: string = "";
  /** enroll: pairs of the setup body's setup_fields (and the optional_setup_fields present). */
  params: string[] = [];
  /** v1.2: the HTTP request's Origin header when it is an accepted origin, else "". */
  origin: string = "";
  /** v1.2: the accepted origins (scheme://host[:port]), the public URL's first. */
  origins: string[] = [];
  /** v1.2: the relying party id (WebAuthn), by default the public URL's host. */
  rpId: string = "";
  /** v1.2: the relying party's display name, by default serviceName. */
  rpName: string = "";
  /** v1.2: the server's public URL. */
  publicUrl: string = "";
  /** v1.2, additive methods, enroll and activate: the active state; null when inactive. */
  activeState: Uint8Array | null = null;

  encodeTo(e: Encoder): void {
    e.int(1, this.now);
    e.string(2, this.requestId);
    e.string(8, this.userId);
    e.string(9, this.email);
    e.string(10, this.serviceName);
    e.blob(11, this.state);
    e.string(12, this.code);
    e.repeated(13, this.params);
    e.string(14, this.origin);
    e.repeated(15, this.origins);
    e.string(16, this.rpId);
    e.string(17, this.rpName);
    e.string(18, this.publicUrl);
    e.blob(19, this.activeState);
  }

  static decode(b: Uint8Array): TwoFactorRequest | null {
    const m = new TwoFactorRequest();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.now = d.int(); break;
        case 2: m.requestId = d.string(); break;
        case 8: m.userId = d.string(); break;
        case 9: m.email = d.string(); break;
        case 10: m.serviceName = d.string(); break;
        case 11: m.state = d.bytes(); break;
        case 12: m.code = d.string(); break;
        case 13: m.params.push(d.string()); break;
        case 14: m.origin = d.string(); break;
        case 15: m.origins.push(d.string()); break;
        case 16: m.rpId = d.string(); break;
        case 17: m.rpName = d.string(); break;
        case 18: m.publicUrl = d.string(); break;
        case 19: m.activeState = d.bytes(); break;
      }
    }
    return d.failed ? null : m;
  }

  /** The value of a setup field in `params`, or "" if absent. */
  param(name: string): string {
    for (let i = 0; i + 1 < this.params.length; i += 2) {
      if (unchecked(this.params[i]) == name) return unchecked(this.params[i + 1]);
    }
    return "";
  }
}

/** An email a twofactor plugin asks the host to send; the host renders the template. */
export class Message {
  constructor(public template: string = "", public to: string = "", public vars: string[] = []) {}

  encodeTo(e: Encoder): void {
    e.string(1, this.template);
    e.repeated(2, this.vars);
    e.string(3, this.to);
  }

  static decodeFrom(d: Decoder): Message {
    const m = new Message();
    while (d.next()) {
      if (d.field == 1) m.template = d.string();
      else if (d.field == 2) m.vars.push(d.string());
      else if (d.field == 3) m.to = d.string();
    }
    return m;
  }
}

export class TwoFactorResult {
  reasons: Reason[] = [];
  /** The new state; null leaves the stored state unchanged. */
  state: Uint8Array | null = null;
  secret: string = "";
  uri: string = "";
  image: Uint8Array | null = null;
  messages: Message[] = [];
  replayKey: string = "";
  /** activate: pairs shown in GET /user/2fa ("email", the address). */
  publicPairs: string[] = [];
  /** v1.2, enroll and challenge: a JSON object of clientDataFields added to the answer's body. */
  clientData: Uint8Array | null = null;
  /** v1.2, accepted activate and verify: a JSON object shown in GET /user/2fa under summaryKey. */
  summary: Uint8Array | null = null;
  /** v1.2, accepted activate: keys no other user may hold for this method. */
  uniqueKeys: string[] = [];
  /**
   * Not on the wire: set by `TwoFactorResult.failure` for a call the plugin cannot answer
   * (an unreadable state); the SDK logs it and returns status 3 (failed, a 500).
   */
  failure: string | null = null;

  encodeTo(e: Encoder): void {
    encodeReasons(e, this.reasons);
    e.blob(8, this.state);
    e.string(9, this.secret);
    e.string(10, this.uri);
    e.blob(11, this.image);
    for (let i = 0; i < this.messages.length; i++) {
      const sub = new Encoder();
      unchecked(this.messages[i]).encodeTo(sub);
      e.message(12, sub);
    }
    e.string(13, this.replayKey);
    e.repeated(14, this.publicPairs);
    e.blob(15, this.clientData);
    e.blob(16, this.summary);
    e.repeated(17, this.uniqueKeys);
  }

  static decode(b: Uint8Array): TwoFactorResult | null {
    const m = new TwoFactorResult();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: {
          const sub = d.message();
          m.reasons.push(decodeReason(sub));
          if (sub.failed) d.failed = true;
          break;
        }
        case 8: m.state = d.bytes(); break;
        case 9: m.secret = d.string(); break;
        case 10: m.uri = d.string(); break;
        case 11: m.image = d.bytes(); break;
        case 12: {
          const sub = d.message();
          m.messages.push(Message.decodeFrom(sub));
          if (sub.failed) d.failed = true;
          break;
        }
        case 13: m.replayKey = d.string(); break;
        case 14: m.publicPairs.push(d.string()); break;
        case 15: m.clientData = d.bytes(); break;
        case 16: m.summary = d.bytes(); break;
        case 17: m.uniqueKeys.push(d.string()); break;
      }
    }
    return d.failed ? null : m;
  }

  /** An accepted code (status 0), with the replay key it used up ("" for none). */
  static accepted(replayKey: string = ""): TwoFactorResult {
    const r = new TwoFactorResult();
    r.replayKey = replayKey;
    return r;
  }

  /** A denial (status 1): the code becomes the HTTP answer's message code. */
  static denied(code: string, message: string): TwoFactorResult {
    const r = new TwoFactorResult();
    r.reasons.push(new Reason(code, message));
    return r;
  }

  /** A failure (status 3, PLUGIN_FAILED): `why` goes to the host's log, not to the user. */
  static failure(why: string): TwoFactorResult {
    const r = new TwoFactorResult();
    r.failure = why;
    return r;
  }
}

// ---- mailer ----

export class DeliverRequest {
  now: i64 = 0;
  requestId: string = "";
  /** The outbox id, stable across retries: deduplicate on it. */
  messageId: string = "";
  from: string = "";
  to: string[] = [];
  subject: string = "";
  text: string = "";
  html: string = "";

  encodeTo(e: Encoder): void {
    e.int(1, this.now);
    e.string(2, this.requestId);
    e.string(8, this.messageId);
    e.string(9, this.from);
    e.repeated(10, this.to);
    e.string(11, this.subject);
    e.string(12, this.text);
    e.string(13, this.html);
  }

  static decode(b: Uint8Array): DeliverRequest | null {
    const m = new DeliverRequest();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.now = d.int(); break;
        case 2: m.requestId = d.string(); break;
        case 8: m.messageId = d.string(); break;
        case 9: m.from = d.string(); break;
        case 10: m.to.push(d.string()); break;
        case 11: m.subject = d.string(); break;
        case 12: m.text = d.string(); break;
        case 13: m.html = d.string(); break;
      }
    }
    return d.failed ? null : m;
  }
}

// ---- transport capabilities ----

export class SMTPSend {
  from: string = "";
  to: string[] = [];
  data: Uint8Array | null = null;

  encodeTo(e: Encoder): void {
    e.string(1, this.from);
    e.repeated(2, this.to);
    e.blob(3, this.data);
  }

  static decode(b: Uint8Array): SMTPSend | null {
    const m = new SMTPSend();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) m.from = d.string();
      else if (d.field == 2) m.to.push(d.string());
      else if (d.field == 3) m.data = d.bytes();
    }
    return d.failed ? null : m;
  }
}

export class OutboxWrite {
  messageId: string = "";
  data: Uint8Array | null = null;

  encodeTo(e: Encoder): void {
    e.string(1, this.messageId);
    e.blob(2, this.data);
  }

  static decode(b: Uint8Array): OutboxWrite | null {
    const m = new OutboxWrite();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) m.messageId = d.string();
      else if (d.field == 2) m.data = d.bytes();
    }
    return d.failed ? null : m;
  }
}

/** Transport outcomes (host/ABI.md 5.1). */
export namespace Outcome {
  export const OK: u32 = 0;
  export const PERMANENT: u32 = 1;
  export const TEMPORARY: u32 = 2;
}

/** The reply of smtp send and outbox write. */
export class Reply {
  outcome: u32 = 0;
  error: string = "";
  code: u32 = 0;

  encodeTo(e: Encoder): void {
    e.uint(1, this.outcome);
    e.string(2, this.error);
    e.uint(8, this.code);
  }

  static decode(b: Uint8Array): Reply | null {
    const m = new Reply();
    const d = new Decoder(b);
    while (d.next()) {
      if (d.field == 1) m.outcome = <u32>d.uint();
      else if (d.field == 2) m.error = d.string();
      else if (d.field == 8) m.code = <u32>d.uint();
    }
    return d.failed ? null : m;
  }
}

export class HTTPRequest {
  connection: string = "";
  method: string = "";
  path: string = "";
  headers: string[] = [];
  body: Uint8Array | null = null;

  encodeTo(e: Encoder): void {
    e.string(1, this.connection);
    e.string(2, this.method);
    e.string(3, this.path);
    e.repeated(4, this.headers);
    e.blob(5, this.body);
  }

  static decode(b: Uint8Array): HTTPRequest | null {
    const m = new HTTPRequest();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.connection = d.string(); break;
        case 2: m.method = d.string(); break;
        case 3: m.path = d.string(); break;
        case 4: m.headers.push(d.string()); break;
        case 5: m.body = d.bytes(); break;
      }
    }
    return d.failed ? null : m;
  }
}

export class HTTPResponse {
  outcome: u32 = 0;
  error: string = "";
  status: u32 = 0;
  headers: string[] = [];
  body: Uint8Array | null = null;
  truncated: bool = false;

  encodeTo(e: Encoder): void {
    e.uint(1, this.outcome);
    e.string(2, this.error);
    e.uint(8, this.status);
    e.repeated(9, this.headers);
    e.blob(10, this.body);
    e.bool(11, this.truncated);
  }

  static decode(b: Uint8Array): HTTPResponse | null {
    const m = new HTTPResponse();
    const d = new Decoder(b);
    while (d.next()) {
      switch (d.field) {
        case 1: m.outcome = <u32>d.uint(); break;
        case 2: m.error = d.string(); break;
        case 8: m.status = <u32>d.uint(); break;
        case 9: m.headers.push(d.string()); break;
        case 10: m.body = d.bytes(); break;
        case 11: m.truncated = d.bool(); break;
      }
    }
    return d.failed ? null : m;
  }

  /** The first value of header `name` (case-insensitive), or "". */
  header(name: string): string {
    const want = name.toLowerCase();
    for (let i = 0; i + 1 < this.headers.length; i += 2) {
      if (unchecked(this.headers[i]).toLowerCase() == want) return unchecked(this.headers[i + 1]);
    }
    return "";
  }
}
