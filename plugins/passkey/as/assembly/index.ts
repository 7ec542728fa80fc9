// twofactor.passkey, the first-party passkey method, in AssemblyScript. The Go plugin ../ (with
// github.com/go-webauthn/webauthn) is the reference implementation; tests/assemblyscript feeds
// both the same requests, states and WebAuthn answers through the host and requires the same
// results, byte for byte: the same options, the same state (Go's encoding/json of its State),
// the same summaries, checks in the same order with the same messages.
//
// WebAuthn registration and assertion as a second factor: ES256, EdDSA, RS256 keys; attestation
// none (or packed self attestation); the signatures verified and SHA-256 computed by the host
// (the crypto capability's verify_signature and digest, ABI 1.2, which the server grants
// twofactor.passkey).

import { Info, Level, log, randomBytes, Reason } from "@gatehouse/as-sdk";
import { sha256 } from "@gatehouse/as-sdk/crypto";
import { registerTwoFactorMethod, TwoFactorInfo, TwoFactorMethod, TwoFactorRequest, TwoFactorResult } from "@gatehouse/as-sdk/twofactor";
import { JValue, J_ARRAY, J_NUMBER, J_OBJECT, J_STRING, parseJSON, quote } from "./json";
import { b64std, b64url, bytesEqual, decode64, formatTime, parseTime, Time, utf8 } from "./codec";
import {
  assertionChecks, attestationVerifies, invalid, malformed, MSG_ATTESTATION, MSG_NOT_ASSERTION, MSG_NOT_REGISTRATION,
  MSG_SIGNATURE, parseAssertion, parseRegistration, Refusal, registrationChecks, signatureVerifies, signedData,
} from "./webauthn";

export * from "@gatehouse/as-sdk/exports/twofactor";

const CODE_INVALID = "PASSKEY_INVALID";
const CODE_CORRUPT = "PASSKEY_CORRUPT";
const CODE_BAD_REQUEST = "BAD_REQUEST";
const CODE_BAD_CONFIG = "PASSKEY_BAD_CONFIG";

const MAX_SUMMARY_BYTES = 8 << 10;
const CHALLENGE_SECONDS: i64 = 300;
const MAX_RESPONSE_BYTES = 16 << 10;
const MAX_CREDENTIAL_ID_BYTES = 1023;
const MAX_CREDENTIALS = 16;
const MAX_NAME_RUNES = 64;
const REGISTRATION = "registration";
const ASSERTION = "assertion";

// ---- the state (Go's State, Pending and Credential in encoding/json) ----

class Pending {
  ceremony: string = "";
  challenge: string = "";
  userId: string = "";
  rpId: string = "";
  expires: Time = new Time();
  userVerification: string = "";
  name: string = "";
  allowed: (Uint8Array | null)[] = [];

  encode(): string {
    let s = '{"ceremony":' + quote(this.ceremony) + ',"challenge":' + quote(this.challenge) + ',"userId":' + quote(this.userId) +
      ',"rpId":' + quote(this.rpId) + ',"expires":' + quote(formatTime(this.expires)) + ',"userVerification":' + quote(this.userVerification);
    if (this.name.length > 0) s += ',"name":' + quote(this.name);
    if (this.allowed.length > 0) {
      const parts: string[] = [];
      for (let i = 0; i < this.allowed.length; i++) parts.push(bytesJSON(this.allowed[i]));
      s += ',"allowed":[' + parts.join(",") + "]";
    }
    return s + "}";
  }
}

class Credential {
  id: Uint8Array | null = null;
  publicKey: Uint8Array | null = null;
  signCount: u32 = 0;
  name: string = "";
  createdAt: Time = new Time();
  lastUsedAt: Time = new Time();
  transports: string[] = [];
  aaguid: Uint8Array | null = null;
  attestation: string = "";
  backupEligible: bool = false;
  userVerified: bool = false;

  idBytes(): Uint8Array {
    const id = this.id;
    return id === null ? new Uint8Array(0) : id;
  }

  copy(): Credential {
    const c = new Credential();
    c.id = this.id;
    c.publicKey = this.publicKey;
    c.signCount = this.signCount;
    c.name = this.name;
    c.createdAt = this.createdAt;
    c.lastUsedAt = this.lastUsedAt;
    c.transports = this.transports;
    c.aaguid = this.aaguid;
    c.attestation = this.attestation;
    c.backupEligible = this.backupEligible;
    c.userVerified = this.userVerified;
    return c;
  }

  encode(): string {
    let s = '{"id":' + bytesJSON(this.id) + ',"publicKey":' + bytesJSON(this.publicKey);
    if (this.signCount != 0) s += ',"signCount":' + this.signCount.toString();
    if (this.name.length > 0) s += ',"name":' + quote(this.name);
    s += ',"createdAt":' + quote(formatTime(this.createdAt));
    if (!this.lastUsedAt.isZero()) s += ',"lastUsedAt":' + quote(formatTime(this.lastUsedAt));
    if (this.transports.length > 0) s += ',"transports":' + stringsJSON(this.transports);
    const aaguid = this.aaguid;
    if (aaguid !== null && aaguid.length > 0) s += ',"aaguid":' + quote(b64std(aaguid));
    if (this.attestation.length > 0) s += ',"attestation":' + quote(this.attestation);
    if (this.backupEligible) s += ',"backupEligible":true';
    if (this.userVerified) s += ',"userVerified":true';
    return s + "}";
  }

  /** The base64url SHA-256 of the id: the key unique across users. */
  uniqueKey(): string {
    return b64url(sha256(this.idBytes()));
  }
}

class State {
  pending: Pending | null = null;
  credentials: Credential[] = [];

  encode(): Uint8Array {
    const parts: string[] = [];
    const p = this.pending;
    if (p !== null) parts.push('"pending":' + p.encode());
    if (this.credentials.length > 0) {
      const cs: string[] = [];
      for (let i = 0; i < this.credentials.length; i++) cs.push(this.credentials[i].encode());
      parts.push('"credentials":[' + cs.join(",") + "]");
    }
    return utf8("{" + parts.join(",") + "}");
  }
}

function bytesJSON(b: Uint8Array | null): string {
  return b === null ? "null" : quote(b64std(b));
}

function stringsJSON(list: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < list.length; i++) parts.push(quote(list[i]));
  return "[" + parts.join(",") + "]";
}

/** Decoding as Go's json.Unmarshal into the State: a value of the wrong type fails it. */
class StateReader {
  ok: bool = true;

  str(v: JValue | null): string {
    if (v === null) return "";
    if (v.kind != J_STRING) {
      this.ok = false;
      return "";
    }
    return v.str;
  }

  bool(v: JValue | null): bool {
    if (v === null) return false;
    if (v.kind != 1) {
      this.ok = false;
      return false;
    }
    return v.bool;
  }

  bytes(v: JValue | null): Uint8Array | null {
    if (v === null) return null;
    if (v.kind != J_STRING) {
      this.ok = false;
      return null;
    }
    const b = decode64(v.str, false, true);
    if (b === null) {
      this.ok = false;
      return null;
    }
    return b;
  }

  time(v: JValue | null): Time {
    if (v === null) return new Time();
    if (v.kind != J_STRING) {
      this.ok = false;
      return new Time();
    }
    const t = parseTime(v.str);
    if (t === null) {
      this.ok = false;
      return new Time();
    }
    return t;
  }

  uint32(v: JValue | null): u32 {
    if (v === null) return 0;
    if (v.kind != J_NUMBER) {
      this.ok = false;
      return 0;
    }
    const s = v.str;
    let n: u64 = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39 || n > 0xffffffff) {
        this.ok = false;
        return 0;
      }
      n = n * 10 + <u64>(c - 0x30);
    }
    if (n > 0xffffffff) {
      this.ok = false;
      return 0;
    }
    return <u32>n;
  }

  list(v: JValue | null): JValue[] {
    if (v === null) return [];
    if (v.kind != J_ARRAY) {
      this.ok = false;
      return [];
    }
    return v.items;
  }

  object(v: JValue | null): bool {
    if (v === null) return false;
    if (v.kind != J_OBJECT) {
      this.ok = false;
      return false;
    }
    return true;
  }

  pending(v: JValue | null): Pending | null {
    if (!this.object(v)) return null;
    const o = v as JValue;
    const p = new Pending();
    p.ceremony = this.str(o.get("ceremony"));
    p.challenge = this.str(o.get("challenge"));
    p.userId = this.str(o.get("userId"));
    p.rpId = this.str(o.get("rpId"));
    p.expires = this.time(o.get("expires"));
    p.userVerification = this.str(o.get("userVerification"));
    p.name = this.str(o.get("name"));
    const items = this.list(o.get("allowed"));
    for (let i = 0; i < items.length; i++) p.allowed.push(items[i].isNull() ? null : this.bytes(items[i]));
    return p;
  }

  credential(v: JValue): Credential {
    const c = new Credential();
    if (v.isNull()) return c;
    if (!this.object(v)) return c;
    c.id = this.bytes(v.get("id"));
    c.publicKey = this.bytes(v.get("publicKey"));
    c.signCount = this.uint32(v.get("signCount"));
    c.name = this.str(v.get("name"));
    c.createdAt = this.time(v.get("createdAt"));
    c.lastUsedAt = this.time(v.get("lastUsedAt"));
    const tr = this.list(v.get("transports"));
    for (let i = 0; i < tr.length; i++) c.transports.push(this.str(tr[i]));
    c.aaguid = this.bytes(v.get("aaguid"));
    c.attestation = this.str(v.get("attestation"));
    c.backupEligible = this.bool(v.get("backupEligible"));
    c.userVerified = this.bool(v.get("userVerified"));
    return c;
  }
}

/** The state in b, or null if it does not decode (Go: an error). */
function decodeState(b: Uint8Array | null): State | null {
  if (b === null || b.length == 0) return null;
  const v = parseJSON(b);
  if (v === null) return null;
  const s = new State();
  if (v.isNull()) return s;
  if (v.kind != J_OBJECT) return null;
  const r = new StateReader();
  s.pending = r.pending(v.get("pending"));
  const cs = r.list(v.get("credentials"));
  for (let i = 0; i < cs.length; i++) s.credentials.push(r.credential(cs[i]));
  return r.ok ? s : null;
}

// ---- the request ----

class RelyingParty {
  id: string = "";
  name: string = "";
  origins: string[] = [];
}

/** scheme, host (with port) and host name of a URL as Go's url.Parse gives them; null if none. */
function urlParts(u: string): string[] | null {
  const i = u.indexOf("://");
  if (i <= 0) return null;
  const scheme = u.substring(0, i);
  for (let k = 0; k < scheme.length; k++) {
    const c = scheme.charCodeAt(k);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!letter && (k == 0 || !((c >= 0x30 && c <= 0x39) || c == 0x2b || c == 0x2d || c == 0x2e))) return null;
  }
  let rest = u.substring(i + 3);
  let end = rest.length;
  for (let k = 0; k < rest.length; k++) {
    const c = rest.charCodeAt(k);
    if (c == 0x2f || c == 0x3f || c == 0x23) {
      end = k;
      break;
    }
  }
  let host = rest.substring(0, end);
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.substring(at + 1);
  if (host.length == 0) return null;
  let hostname = host;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    hostname = close > 0 ? host.substring(1, close) : host.substring(1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) hostname = host.substring(0, colon);
  }
  return [scheme, host, hostname];
}

function relyingParty(req: TwoFactorRequest): RelyingParty {
  const rp = new RelyingParty();
  rp.id = req.rpId;
  rp.name = req.rpName;
  rp.origins = req.origins;
  const u = urlParts(req.publicUrl);
  if (u !== null) {
    if (rp.id.length == 0) rp.id = u[2];
    if (rp.origins.length == 0) rp.origins = [u[0] + "://" + u[1]];
  }
  if (rp.name.length == 0) rp.name = req.serviceName;
  return rp;
}

/** The WebAuthn user handle: the id, or its SHA-256 when it is not 1 to 64 bytes long. */
function userHandle(userId: string): Uint8Array {
  const b = utf8(userId);
  if (b.length >= 1 && b.length <= 64) return b;
  return sha256(b);
}

function deny(code: string, msg: string): TwoFactorResult {
  return TwoFactorResult.denied(code, msg);
}

function refused(r: Refusal, state: Uint8Array | null): TwoFactorResult {
  const res = deny(r.malformed ? CODE_BAD_REQUEST : CODE_INVALID, r.message);
  res.state = state;
  return res;
}

/** The operator's error of a relying party without id or origin (Go: the call fails). */
const NO_RP = "passkey: the relying party has no id or no origin (GATEHOUSE_WEBAUTHN_RP_ID, GATEHOUSE_PUBLIC_URL)";

function rpUsable(rp: RelyingParty): bool {
  return rp.id.length > 0 && rp.origins.length > 0;
}

// ---- names ----

function isSpace(c: i32): bool {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/** strings.TrimSpace, then at most 64 runes and no control characters; null with msg[0] set. */
function cleanName(name: string, msg: string[]): string | null {
  let a = 0;
  let b = name.length;
  while (a < b && isSpace(name.charCodeAt(a))) a++;
  while (b > a && isSpace(name.charCodeAt(b - 1))) b--;
  const s = name.substring(a, b);
  let runes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) i++;
    runes++;
  }
  if (runes > MAX_NAME_RUNES) {
    msg[0] = "name: at most " + MAX_NAME_RUNES.toString() + " characters of UTF-8";
    return null;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f) {
      msg[0] = "name: no control characters";
      return null;
    }
  }
  return s;
}

// ---- options ----

const CRED_PARAMS = '[{"type":"public-key","alg":-7},{"type":"public-key","alg":-8},{"type":"public-key","alg":-257}]';

function descriptorsJSON(creds: Credential[]): string {
  const parts: string[] = [];
  for (let i = 0; i < creds.length; i++) {
    const c = creds[i];
    let s = '{"type":"public-key","id":' + quote(b64url(c.idBytes()));
    if (c.transports.length > 0) s += ',"transports":' + stringsJSON(c.transports);
    parts.push(s + "}");
  }
  return "[" + parts.join(",") + "]";
}

function newChallenge(): string {
  return b64url(randomBytes(32));
}

function nowOf(req: TwoFactorRequest): Time {
  return Time.fromUnixNano(req.now);
}

// ---- the method ----

class Passkey extends TwoFactorMethod {
  userVerification: string = "preferred";

  sendsChallenges(): bool {
    return true;
  }

  configure(config: Uint8Array): Reason[] {
    let uv = "preferred";
    if (config.length > 0) {
      const v = parseJSON(config);
      if (v === null) return [new Reason(CODE_BAD_CONFIG, "configuration: the configuration is not JSON")];
      if (!v.isNull()) {
        if (v.kind != J_OBJECT) return [new Reason(CODE_BAD_CONFIG, "configuration: json: cannot unmarshal into Go value of type passkey.Config")];
        for (let i = 0; i < v.keys.length; i++) {
          if (v.keys[i].toLowerCase() != "userverification") {
            return [new Reason(CODE_BAD_CONFIG, "configuration: json: unknown field " + quote(v.keys[i]))];
          }
          const item = v.items[i];
          if (item.isNull()) continue;
          if (item.kind != J_STRING) {
            return [new Reason(CODE_BAD_CONFIG, "configuration: json: cannot unmarshal into Go struct field Config.userVerification of type string")];
          }
          uv = item.str;
        }
      }
    }
    if (uv != "required" && uv != "preferred" && uv != "discouraged") {
      return [new Reason(CODE_BAD_CONFIG, "userVerification: one of required, preferred, discouraged")];
    }
    this.userVerification = uv;
    return [];
  }

  enroll(req: TwoFactorRequest): TwoFactorResult {
    let act = new State();
    if (req.activeState !== null) {
      const a = decodeState(req.activeState);
      if (a === null) return deny(CODE_CORRUPT, "the active passkeys do not decode");
      act = a;
    }
    const rp = relyingParty(req);
    if (act.credentials.length >= MAX_CREDENTIALS) {
      return refused(malformed("at most " + MAX_CREDENTIALS.toString() + " passkeys per account: remove the method to start again"), null);
    }
    const msg: string[] = [""];
    const name = cleanName(req.param("name"), msg);
    if (name === null) return refused(malformed(msg[0]), null);
    if (!rpUsable(rp)) return TwoFactorResult.failure(NO_RP);
    const challenge = newChallenge();
    const rpName = rp.name.length > 0 ? rp.name : rp.id;
    let o = '{"publicKey":{"rp":{"name":' + quote(rpName) + ',"id":' + quote(rp.id) + '},"user":{"name":' + quote(req.email) +
      ',"displayName":' + quote(req.email) + ',"id":' + quote(b64url(userHandle(req.userId))) + '},"challenge":' + quote(challenge) +
      ',"pubKeyCredParams":' + CRED_PARAMS + ',"timeout":300000';
    if (act.credentials.length > 0) o += ',"excludeCredentials":' + descriptorsJSON(act.credentials);
    o += ',"authenticatorSelection":{"residentKey":"preferred","userVerification":' + quote(this.userVerification) + '},"attestation":"none"}}';
    const p = new Pending();
    p.ceremony = REGISTRATION;
    p.challenge = challenge;
    p.userId = req.userId;
    p.rpId = rp.id;
    p.expires = nowOf(req).addSeconds(CHALLENGE_SECONDS);
    p.userVerification = this.userVerification;
    p.name = name;
    const st = new State();
    st.pending = p;
    const res = new TwoFactorResult();
    res.state = st.encode();
    res.clientData = utf8(o);
    return res;
  }

  activate(req: TwoFactorRequest): TwoFactorResult {
    const st = decodeState(req.state);
    if (st === null) return deny(CODE_CORRUPT, "the pending passkey state does not decode");
    let act = new State();
    if (req.activeState !== null) {
      const a = decodeState(req.activeState);
      if (a === null) return deny(CODE_CORRUPT, "the active passkeys do not decode");
      act = a;
    }
    const used = new State().encode();
    const rp = relyingParty(req);
    const response = utf8(req.code);
    const r = parseable(response);
    if (r !== null) return refused(r, used);
    const reg = parseRegistration(response);
    if (reg === null) return refused(malformed(MSG_NOT_REGISTRATION), used);
    if (reg.rawId.length > MAX_CREDENTIAL_ID_BYTES) {
      return refused(malformed("credential: id longer than " + MAX_CREDENTIAL_ID_BYTES.toString() + " bytes"), used);
    }
    const pr = checkPending(st.pending, REGISTRATION, rp, req.userId, nowOf(req));
    if (pr !== null) return refused(pr, used);
    const pending = st.pending as Pending;
    const cr = registrationChecks(reg, pending.challenge, rp.id, rp.origins, pending.userVerification);
    if (cr !== null) return refused(cr, used);
    for (let i = 0; i < act.credentials.length; i++) {
      if (bytesEqual(act.credentials[i].idBytes(), reg.rawId)) return refused(invalid("credential refused: this passkey is already registered"), used);
    }
    if (!rpUsable(rp)) return TwoFactorResult.failure(NO_RP);
    if (!attestationVerifies(reg)) return refused(invalid(MSG_ATTESTATION), used);
    if (act.credentials.length >= MAX_CREDENTIALS) {
      return refused(malformed("at most " + MAX_CREDENTIALS.toString() + " passkeys per account"), used);
    }
    const c = new Credential();
    c.id = reg.rawId;
    c.publicKey = reg.authData.publicKey;
    c.signCount = reg.authData.counter;
    c.name = pending.name;
    c.createdAt = nowOf(req).utc();
    c.aaguid = reg.authData.aaguid;
    c.attestation = reg.format;
    c.backupEligible = (reg.authData.flags & 0x08) != 0;
    c.userVerified = (reg.authData.flags & 0x04) != 0;
    for (let i = 0; i < reg.transports.length; i++) {
      let t = reg.transports[i];
      if (t == "cable") t = "hybrid";
      if (c.transports.length < 8 && utf8(t).length <= 32) c.transports.push(t);
    }
    if (c.name.length == 0) c.name = "Passkey " + (act.credentials.length + 1).toString();
    const next = new State();
    for (let i = 0; i < act.credentials.length; i++) next.credentials.push(act.credentials[i]);
    next.credentials.push(c);
    const summary = summarize(next.credentials);
    if (summary === null) return refused(malformed("too many passkeys to list: remove the method to start again"), used);
    if (summary.length + 35 * next.credentials.length > MAX_SUMMARY_BYTES) {
      return refused(malformed("too many passkeys to list: remove the method to start again"), used);
    }
    const res = new TwoFactorResult();
    res.state = next.encode();
    res.summary = summary;
    for (let i = 0; i < next.credentials.length; i++) res.uniqueKeys.push(next.credentials[i].uniqueKey());
    return res;
  }

  challenge(req: TwoFactorRequest): TwoFactorResult {
    const st = decodeState(req.state);
    if (st === null) return deny(CODE_CORRUPT, "the passkey state does not decode");
    if (st.credentials.length == 0) return deny(CODE_BAD_REQUEST, "no passkey is active");
    const rp = relyingParty(req);
    if (!rpUsable(rp)) return TwoFactorResult.failure(NO_RP);
    const challenge = newChallenge();
    const uv = this.userVerification;
    const o = '{"publicKey":{"challenge":' + quote(challenge) + ',"timeout":300000,"rpId":' + quote(rp.id) +
      ',"allowCredentials":' + descriptorsJSON(st.credentials) + ',"userVerification":' + quote(uv) + "}}";
    const p = new Pending();
    p.ceremony = ASSERTION;
    p.challenge = challenge;
    p.userId = req.userId;
    p.rpId = rp.id;
    p.expires = nowOf(req).addSeconds(CHALLENGE_SECONDS);
    p.userVerification = uv;
    for (let i = 0; i < st.credentials.length; i++) p.allowed.push(st.credentials[i].id);
    st.pending = p;
    const res = new TwoFactorResult();
    res.state = st.encode();
    res.clientData = utf8(o);
    return res;
  }

  verify(req: TwoFactorRequest): TwoFactorResult {
    const st = decodeState(req.state);
    if (st === null) return deny(CODE_CORRUPT, "the passkey state does not decode");
    const pending = st.pending;
    st.pending = null;
    const used = st.encode();
    const rp = relyingParty(req);
    const response = utf8(req.code);
    const r = parseable(response);
    if (r !== null) return refused(r, used);
    const a = parseAssertion(response);
    if (a === null) return refused(malformed(MSG_NOT_ASSERTION), used);
    if (a.rawId.length > MAX_CREDENTIAL_ID_BYTES) {
      return refused(malformed("credential: id longer than " + MAX_CREDENTIAL_ID_BYTES.toString() + " bytes"), used);
    }
    const pr = checkPending(pending, ASSERTION, rp, req.userId, nowOf(req));
    if (pr !== null) return refused(pr, used);
    const p = pending as Pending;
    let index = -1;
    for (let i = 0; i < st.credentials.length; i++) {
      if (bytesEqual(st.credentials[i].idBytes(), a.rawId)) {
        index = i;
        break;
      }
    }
    if (index < 0) return refused(invalid("credential refused: not a passkey of this account"), used);
    const cred = st.credentials[index];
    let allowed = false;
    for (let i = 0; i < p.allowed.length; i++) {
      const id = p.allowed[i];
      if (bytesEqual(id === null ? new Uint8Array(0) : id, cred.idBytes())) allowed = true;
    }
    const cr = assertionChecks(a, p.challenge, rp.id, rp.origins, p.userVerification, allowed, userHandle(req.userId), cred.backupEligible);
    if (cr !== null) return refused(cr, used);
    if (!rpUsable(rp)) return TwoFactorResult.failure(NO_RP);
    const key = cred.publicKey;
    if (key === null || !signatureVerifies(key, signedData(a.authData.raw, a.clientDataJSON), a.signature)) {
      return refused(invalid(MSG_SIGNATURE), used);
    }
    const count = a.authData.counter;
    if (count <= cred.signCount && (count != 0 || cred.signCount != 0)) {
      const msg = "credential refused: its signature counter went from " + cred.signCount.toString() + " to " + count.toString() +
        " (a cloned authenticator?)";
      log(Level.WARN, "passkey: possible cloned authenticator refused: user " + req.userId + ", credential " + goQuoteName(cred.name) + ": " + msg);
      return refused(invalid(msg), used);
    }
    const out = cred.copy();
    out.signCount = count;
    out.lastUsedAt = nowOf(req).utc();
    out.userVerified = out.userVerified || (a.authData.flags & 0x04) != 0;
    st.credentials[index] = out;
    const summary = summarize(st.credentials);
    if (summary === null) return TwoFactorResult.failure("too many passkeys to list: remove the method to start again");
    const res = new TwoFactorResult();
    res.state = st.encode();
    res.summary = summary;
    return res;
  }
}

function goQuoteName(s: string): string {
  return goQuote(s);
}

import { goQuote } from "./webauthn";

/** checkPending of ceremony.go. */
function checkPending(p: Pending | null, want: string, rp: RelyingParty, userId: string, now: Time): Refusal | null {
  if (p === null || p.challenge.length == 0) return invalid("no challenge is pending: ask for one first");
  if (p.ceremony != want) return invalid("the pending challenge is for another ceremony");
  if (p.userId != userId) return invalid("the pending challenge is for another user");
  if (p.rpId != rp.id) return invalid("the pending challenge is for another relying party");
  if (!now.before(p.expires)) return invalid("the challenge has expired");
  return null;
}

/** parseable of ceremony.go (the JSON validity: the host passes a compacted object). */
function parseable(response: Uint8Array): Refusal | null {
  if (response.length == 0) return malformed("credential: missing");
  if (response.length > MAX_RESPONSE_BYTES) return malformed("credential: larger than " + MAX_RESPONSE_BYTES.toString() + " bytes");
  if (parseJSON(response) === null) return malformed("credential: not JSON");
  return null;
}

/** {"credentials": [{id, name, createdAt, lastUsedAt}]}; null past the host's 8 KiB. */
function summarize(creds: Credential[]): Uint8Array | null {
  const parts: string[] = [];
  for (let i = 0; i < creds.length; i++) {
    const c = creds[i];
    parts.push('{"id":' + quote(b64url(c.idBytes())) + ',"name":' + quote(c.name) + ',"createdAt":' + quote(formatTime(c.createdAt)) +
      ',"lastUsedAt":' + (c.lastUsedAt.isZero() ? "null" : quote(formatTime(c.lastUsedAt))) + "}");
  }
  const b = utf8('{"credentials":[' + parts.join(",") + "]}");
  if (b.length > MAX_SUMMARY_BYTES) return null;
  return b;
}

const method = new TwoFactorInfo();
method.route = "passkey";
method.summaryKey = "passkey";
method.codeField = "credential";
method.optionalSetupFields = ["name"];
method.jsonFields = ["credential"];
method.clientDataFields = ["publicKey"];
method.additive = true;
method.codePrefix = "PASSKEY";

registerTwoFactorMethod(
  new Info("twofactor.passkey", "Passkeys", "1.0.0")
    .withDescription(
      "WebAuthn passkeys and security keys as a second factor (ES256, EdDSA, RS256; attestation none or packed self attestation; " +
        "signatures verified by the host's crypto capability).",
    )
    .withCodes([CODE_INVALID, CODE_CORRUPT, CODE_BAD_REQUEST])
    .withConfigSchema(
      '{"type":"object","properties":{' +
        '"userVerification":{"enum":["required","preferred","discouraged"],"default":"preferred",' +
        '"description":"WebAuthn user verification (PIN, biometrics) asked of the authenticator; required refuses a ceremony without it"}},' +
        '"additionalProperties":false}',
    )
    .withABIMinor(2),
  method,
  new Passkey(),
);
