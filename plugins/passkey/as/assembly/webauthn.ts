// The WebAuthn answers the method reads: a registration (RegistrationResponseJSON) and an
// assertion (AuthenticationResponseJSON) parsed as go-webauthn parses them (so an answer it
// cannot parse is one this cannot either), their checks in the order and words of the Go
// reference's checks.go, COSE keys to PKIX DER for the host's verify_signature, and packed
// self attestation.

import { Sig, verifySignature, sha256 } from "@gatehouse/as-sdk/crypto";
import { JValue, J_ARRAY, J_OBJECT, J_STRING, asBool, asString, parseJSON } from "./json";
import { CItem, CReader, C_BYTES, C_MAP, C_TEXT, bytesEqual, constantTimeEqual, decode64, utf8 } from "./codec";

export const MSG_NOT_REGISTRATION =
  "credential: not a WebAuthn registration response (id, rawId, type public-key, response.clientDataJSON and response.attestationObject)";
export const MSG_NOT_ASSERTION =
  "credential: not a WebAuthn assertion response (id, rawId, type public-key, response.clientDataJSON, authenticatorData and signature)";
export const MSG_ATTESTATION = "credential refused: the attestation statement does not verify";
export const MSG_SIGNATURE = "credential refused: the signature does not verify";
const MSG_KEY = "credential refused: the public key is not of ES256 (P-256), EdDSA (Ed25519) or RS256";

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/** A refused answer: malformed (a 400) or invalid (a wrong credential), with its message. */
export class Refusal {
  clone: bool = false;
  constructor(public malformed: bool, public message: string) {}
}

export function malformed(msg: string): Refusal {
  return new Refusal(true, msg);
}

export function invalid(msg: string): Refusal {
  return new Refusal(false, msg);
}

/** The client data (CollectedClientData). */
export class ClientData {
  type: string = "";
  challenge: string = "";
  origin: string = "";
  topOrigin: string = "";
  crossOrigin: bool = false;
}

/** Authenticator data. */
export class AuthData {
  raw: Uint8Array = new Uint8Array(0);
  rpIdHash: Uint8Array = new Uint8Array(0);
  flags: u8 = 0;
  counter: u32 = 0;
  aaguid: Uint8Array = new Uint8Array(0);
  credentialId: Uint8Array = new Uint8Array(0);
  /** The COSE_Key as the authenticator data carries it. */
  publicKey: Uint8Array = new Uint8Array(0);
}

export class Registration {
  rawId: Uint8Array = new Uint8Array(0);
  clientDataJSON: Uint8Array = new Uint8Array(0);
  clientData: ClientData = new ClientData();
  format: string = "";
  attStmt: CItem = new CItem();
  authData: AuthData = new AuthData();
  transports: string[] = [];
}

export class Assertion {
  rawId: Uint8Array = new Uint8Array(0);
  clientDataJSON: Uint8Array = new Uint8Array(0);
  clientData: ClientData = new ClientData();
  authData: AuthData = new AuthData();
  signature: Uint8Array = new Uint8Array(0);
  userHandle: Uint8Array = new Uint8Array(0);
}

/** A URLEncodedBase64 of go-webauthn: null or absent is empty, "=" trimmed, then RawURLEncoding. */
function urlBytes(v: JValue | null, ok: bool[]): Uint8Array {
  if (v === null) return new Uint8Array(0);
  if (v.kind != J_STRING) {
    ok[0] = false;
    return new Uint8Array(0);
  }
  let s = v.str;
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) == 0x3d) end--;
  const b = decode64(s.substring(0, end), true, false);
  if (b === null) {
    ok[0] = false;
    return new Uint8Array(0);
  }
  return b;
}

/** A JSON value that must be an object when present (Go: a struct). */
function objectOrNull(v: JValue | null, ok: bool[]): JValue | null {
  if (v !== null && v.kind != J_OBJECT) ok[0] = false;
  return v;
}

/** The credential's id, rawId and type as go-webauthn checks them; null if they do not parse. */
function credentialId(top: JValue, ok: bool[], assertion: bool): Uint8Array | null {
  const id = asString(top.get("id"), ok);
  const typ = asString(top.get("type"), ok);
  const rawId = urlBytes(top.get("rawId"), ok);
  asString(top.get("authenticatorAttachment"), ok);
  objectOrNull(top.get("clientExtensionResults"), ok);
  if (!ok[0] || id.length == 0) return null;
  const decoded = decode64(id, true, false);
  if (decoded === null || decoded.length == 0) return null;
  if (!assertion && typ.length == 0) return null;
  if (typ != "public-key") return null;
  if (!bytesEqual(decoded, rawId)) return null;
  return rawId;
}

function parseClientData(b: Uint8Array): ClientData | null {
  const v = parseJSON(b);
  if (v === null) return null;
  const c = new ClientData();
  if (v.isNull()) return c;
  if (v.kind != J_OBJECT) return null;
  const ok: bool[] = [true];
  c.type = asString(v.get("type"), ok);
  c.challenge = asString(v.get("challenge"), ok);
  c.origin = asString(v.get("origin"), ok);
  c.topOrigin = asString(v.get("topOrigin"), ok);
  c.crossOrigin = asBool(v.get("crossOrigin"), ok);
  asString(v.get("hint"), ok);
  objectOrNull(v.get("tokenBinding"), ok);
  return ok[0] ? c : null;
}

/** Authenticator data as go-webauthn's AuthenticatorData.Unmarshal reads it; null if malformed. */
function parseAuthData(raw: Uint8Array): AuthData | null {
  if (raw.length < 37) return null;
  const a = new AuthData();
  a.raw = raw;
  a.rpIdHash = raw.slice(0, 32);
  a.flags = raw[32];
  a.counter = (<u32>raw[33] << 24) | (<u32>raw[34] << 16) | (<u32>raw[35] << 8) | <u32>raw[36];
  let pos = 37;
  if ((a.flags & FLAG_AT) != 0) {
    if (raw.length <= 55) return null;
    a.aaguid = raw.slice(37, 53);
    const idLen = (<i32>raw[53] << 8) | <i32>raw[54];
    if (idLen > 1023 || raw.length < 55 + idLen) return null;
    a.credentialId = raw.slice(55, 55 + idLen);
    const r = new CReader(raw, 55 + idLen);
    const key = r.item();
    if (key === null) return null;
    a.publicKey = raw.slice(55 + idLen, r.pos);
    pos = r.pos;
  } else if ((a.flags & FLAG_ED) == 0 && raw.length != 37) return null;
  if ((a.flags & FLAG_ED) != 0) {
    if (pos == raw.length) return null;
    const r = new CReader(raw, pos);
    const ext = r.item();
    if (ext === null || ext.major != C_MAP) return null;
    pos = r.pos;
  }
  if (pos != raw.length) return null;
  return a;
}

/** Parses a registration answer; null if go-webauthn's parser refuses it. */
export function parseRegistration(response: Uint8Array): Registration | null {
  const top = parseJSON(response);
  if (top === null || top.kind != J_OBJECT) return null;
  const ok: bool[] = [true];
  const resp = objectOrNull(top.get("response"), ok);
  let cdj = new Uint8Array(0);
  let att = new Uint8Array(0);
  const reg = new Registration();
  if (resp !== null && ok[0]) {
    cdj = urlBytes(resp.get("clientDataJSON"), ok);
    att = urlBytes(resp.get("attestationObject"), ok);
    const tr = resp.get("transports");
    if (tr !== null) {
      if (tr.kind != J_ARRAY) ok[0] = false;
      else for (let i = 0; i < tr.items.length; i++) reg.transports.push(asString(tr.items[i], ok));
    }
    asString(resp.get("authenticatorData"), ok);
    asString(resp.get("publicKey"), ok);
  }
  const rawId = credentialId(top, ok, false);
  if (rawId === null) return null;
  reg.rawId = rawId;
  const cd = parseClientData(cdj);
  if (cd === null) return null;
  reg.clientData = cd;
  reg.clientDataJSON = cdj;
  const r = new CReader(att);
  const obj = r.item();
  if (obj === null || r.pos != att.length || obj.major != C_MAP) return null;
  // Every key a text string, and the three known ones of their types.
  for (let i = 0; i < obj.items.length; i += 2) if (obj.items[i].major != C_TEXT) return null;
  const fmt = obj.textKey("fmt");
  const stmt = obj.textKey("attStmt");
  const ad = obj.textKey("authData");
  if (fmt !== null) {
    if (fmt.major != C_TEXT) return null;
    reg.format = fmt.text;
  }
  if (stmt !== null) {
    if (stmt.major != C_MAP) return null;
    for (let i = 0; i < stmt.items.length; i += 2) if (stmt.items[i].major != C_TEXT) return null;
    reg.attStmt = stmt;
  } else reg.attStmt.major = C_MAP;
  if (ad === null || ad.major != C_BYTES) return null;
  const parsed = parseAuthData(ad.bytes);
  if (parsed === null || (parsed.flags & FLAG_AT) == 0) return null;
  reg.authData = parsed;
  return reg;
}

/** Parses an assertion answer; null if go-webauthn's parser refuses it. */
export function parseAssertion(response: Uint8Array): Assertion | null {
  const top = parseJSON(response);
  if (top === null || top.kind != J_OBJECT) return null;
  const ok: bool[] = [true];
  const resp = objectOrNull(top.get("response"), ok);
  const a = new Assertion();
  let ad = new Uint8Array(0);
  if (resp !== null && ok[0]) {
    a.clientDataJSON = urlBytes(resp.get("clientDataJSON"), ok);
    ad = urlBytes(resp.get("authenticatorData"), ok);
    a.signature = urlBytes(resp.get("signature"), ok);
    a.userHandle = urlBytes(resp.get("userHandle"), ok);
  }
  const rawId = credentialId(top, ok, true);
  if (rawId === null) return null;
  a.rawId = rawId;
  const cd = parseClientData(a.clientDataJSON);
  if (cd === null) return null;
  a.clientData = cd;
  const parsed = parseAuthData(ad);
  if (parsed === null) return null;
  a.authData = parsed;
  return a;
}

// ---- the checks (checks.go) ----

function clientDataChecks(c: ClientData, assertion: bool, challenge: string, origins: string[]): Refusal | null {
  const typ = assertion ? "webauthn.get" : "webauthn.create";
  if (c.type != typ) {
    return invalid("credential refused: the client data is of another ceremony (type " + typ + " expected)");
  }
  if (!constantTimeEqual(c.challenge, challenge)) return invalid("credential refused: the client data's challenge is not the pending one");
  if (!origins.includes(c.origin)) return invalid("credential refused: the origin " + goQuote(c.origin) + " is not accepted");
  if (c.crossOrigin || c.topOrigin.length > 0) return invalid("credential refused: a cross-origin ceremony (in a frame of another site)");
  return null;
}

function authDataChecks(a: AuthData, rpId: string, uv: string): Refusal | null {
  if (!bytesEqual(a.rpIdHash, sha256(utf8(rpId)))) {
    return invalid("credential refused: the authenticator data is for another relying party than " + goQuote(rpId));
  }
  if ((a.flags & FLAG_UP) == 0) return invalid("credential refused: the authenticator did not test user presence");
  if (uv == "required" && (a.flags & FLAG_UV) == 0) {
    return invalid("credential refused: user verification is required and the authenticator did not verify the user");
  }
  if ((a.flags & FLAG_BS) != 0 && (a.flags & FLAG_BE) == 0) {
    return invalid("credential refused: the authenticator data says backed up but not backup eligible");
  }
  return null;
}

/** kty (1), alg (3) and, but for RSA, crv (-1) of a COSE_Key; 0 for a parameter of another type. */
class KeyParams {
  kty: i64 = 0;
  alg: i64 = 0;
  crv: i64 = 0;
}

function intParam(m: CItem, label: i64): i64 {
  const v = m.intKey(label);
  if (v === null || !v.isInt()) return 0;
  const n = v.int();
  return n > (<i64>1 << 62) ? 0 : n;
}

function keyParams(key: CItem): KeyParams {
  const k = new KeyParams();
  k.kty = intParam(key, 1);
  k.alg = intParam(key, 3);
  if (k.kty != 3) k.crv = intParam(key, -1);
  return k;
}

function acceptedKey(k: KeyParams): bool {
  return (k.alg == -7 && k.kty == 2 && k.crv == 1) || (k.alg == -8 && k.kty == 1 && k.crv == 6) || (k.alg == -257 && k.kty == 3);
}

/** Checks a registration; returns the refusal, or null. */
export function registrationChecks(reg: Registration, challenge: string, rpId: string, origins: string[], uv: string): Refusal | null {
  let r = clientDataChecks(reg.clientData, false, challenge, origins);
  if (r !== null) return r;
  const ad = reg.authData;
  r = authDataChecks(ad, rpId, uv);
  if (r !== null) return r;
  if ((ad.flags & FLAG_AT) == 0) return invalid("credential refused: the authenticator data has no attested credential");
  if (!bytesEqual(ad.credentialId, reg.rawId)) return invalid("credential refused: the attested credential id is not the credential's id");
  const key = new CReader(ad.publicKey).item();
  if (key === null || key.major != C_MAP) return invalid(MSG_KEY);
  const k = keyParams(key);
  if (!acceptedKey(k)) return invalid(MSG_KEY);
  if (reg.format == "none") {
    if (reg.attStmt.items.length != 0) return invalid("credential refused: attestation none with a statement");
  } else if (reg.format == "packed") {
    if (reg.attStmt.textKey("x5c") !== null) {
      return invalid("credential refused: attestation with a certificate is not accepted (the options ask for none)");
    }
    const alg = reg.attStmt.textKey("alg");
    const sig = reg.attStmt.textKey("sig");
    if (alg === null || !alg.isInt() || sig === null || sig.major != C_BYTES || reg.attStmt.items.length != 4) return invalid(MSG_ATTESTATION);
    if (alg.int() != k.alg) return invalid("credential refused: the self attestation's algorithm is not the key's");
  } else {
    return invalid("credential refused: attestation format " + goQuote(reg.format) + " is not accepted (the options ask for none)");
  }
  return null;
}

/** Verifies a packed self attestation's signature (after registrationChecks). */
export function attestationVerifies(reg: Registration): bool {
  if (reg.format != "packed") return true;
  const sig = reg.attStmt.textKey("sig");
  if (sig === null) return false;
  return signatureVerifies(reg.authData.publicKey, signedData(reg.authData.raw, reg.clientDataJSON), sig.bytes);
}

/** authenticatorData || SHA-256(clientDataJSON), what a WebAuthn signature signs. */
export function signedData(authData: Uint8Array, clientDataJSON: Uint8Array): Uint8Array {
  const h = sha256(clientDataJSON);
  const out = new Uint8Array(authData.length + h.length);
  out.set(authData, 0);
  out.set(h, authData.length);
  return out;
}

/** Checks an assertion by a credential (its id allowed, its BE flag); the refusal, or null. */
export function assertionChecks(a: Assertion, challenge: string, rpId: string, origins: string[], uv: string,
  allowed: bool, handle: Uint8Array, backupEligible: bool): Refusal | null {
  if (!allowed) return invalid("credential refused: not a passkey the challenge allows");
  if (a.userHandle.length > 0 && !bytesEqual(a.userHandle, handle)) {
    return invalid("credential refused: the passkey is another account's (user handle)");
  }
  let r = clientDataChecks(a.clientData, true, challenge, origins);
  if (r !== null) return r;
  r = authDataChecks(a.authData, rpId, uv);
  if (r !== null) return r;
  if (((a.authData.flags & FLAG_BE) != 0) != backupEligible) {
    return invalid("credential refused: the passkey's backup eligibility changed since its registration");
  }
  return null;
}

// ---- COSE keys to PKIX DER ----

// SubjectPublicKeyInfo prefixes: id-ecPublicKey with prime256v1 and an uncompressed point;
// id-Ed25519.
const P256_PREFIX: u8[] = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
  0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04];
const ED25519_PREFIX: u8[] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
// AlgorithmIdentifier rsaEncryption with NULL parameters.
const RSA_ALG: u8[] = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

function derLength(n: i32): u8[] {
  if (n < 0x80) return [<u8>n];
  if (n < 0x100) return [0x81, <u8>n];
  if (n < 0x10000) return [0x82, <u8>(n >> 8), <u8>n];
  return [0x83, <u8>(n >> 16), <u8>(n >> 8), <u8>n];
}

function der(tag: u8, content: u8[]): u8[] {
  const out: u8[] = [tag];
  const l = derLength(content.length);
  for (let i = 0; i < l.length; i++) out.push(l[i]);
  for (let i = 0; i < content.length; i++) out.push(content[i]);
  return out;
}

/** A DER INTEGER of an unsigned big-endian number (leading zeros dropped, a 0 added if the top bit is set). */
function derUint(b: Uint8Array): u8[] {
  let i = 0;
  while (i < b.length - 1 && b[i] == 0) i++;
  const c: u8[] = [];
  if (b.length == 0 || b[i] >= 0x80) c.push(0);
  for (; i < b.length; i++) c.push(b[i]);
  return der(0x02, c);
}

function toBytes(a: u8[]): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

function concatPrefix(prefix: u8[], parts: Uint8Array[]): Uint8Array {
  let n = prefix.length;
  for (let i = 0; i < parts.length; i++) n += parts[i].length;
  const out = new Uint8Array(n);
  for (let i = 0; i < prefix.length; i++) out[i] = prefix[i];
  let at = prefix.length;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], at);
    at += parts[i].length;
  }
  return out;
}

/** The signature algorithm and PKIX DER key of a COSE_Key; alg 0 for a key it cannot use. */
class PKIXKey {
  alg: i32 = 0;
  der: Uint8Array = new Uint8Array(0);
}

function pkix(cose: Uint8Array): PKIXKey {
  const out = new PKIXKey();
  const key = new CReader(cose).item();
  if (key === null || key.major != C_MAP) return out;
  const k = keyParams(key);
  if (!acceptedKey(k)) return out;
  const p1 = key.intKey(-1);
  const p2 = key.intKey(-2);
  if (k.kty == 2) {
    const y = key.intKey(-3);
    if (p2 === null || y === null || p2.major != C_BYTES || y.major != C_BYTES || p2.bytes.length != 32 || y.bytes.length != 32) return out;
    out.alg = Sig.ES256;
    out.der = concatPrefix(P256_PREFIX, [p2.bytes, y.bytes]);
  } else if (k.kty == 1) {
    if (p2 === null || p2.major != C_BYTES || p2.bytes.length != 32) return out;
    out.alg = Sig.Ed25519;
    out.der = concatPrefix(ED25519_PREFIX, [p2.bytes]);
  } else {
    if (p1 === null || p2 === null || p1.major != C_BYTES || p2.major != C_BYTES) return out;
    const seq = der(0x30, derUint(p1.bytes).concat(derUint(p2.bytes)));
    const bits: u8[] = [0];
    const body = RSA_ALG.concat(der(0x03, bits.concat(seq)));
    out.alg = Sig.RS256;
    out.der = toBytes(der(0x30, body));
  }
  return out;
}

/** Whether `sig` over `msg` verifies under the COSE_Key `cose` (by the host). */
export function signatureVerifies(cose: Uint8Array, msg: Uint8Array, sig: Uint8Array): bool {
  const k = pkix(cose);
  if (k.alg == 0) return false;
  return verifySignature(k.alg, k.der, msg, sig) == 1;
}

/** Go's %q of a string: a double-quoted Go string literal. */
export function goQuote(s: string): string {
  const parts: string[] = ['"'];
  for (let i = 0; i < s.length; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        parts.push(String.fromCodePoint(c));
        continue;
      }
    }
    if (c == 0x22) parts.push('\\"');
    else if (c == 0x5c) parts.push("\\\\");
    else if (c == 0x07) parts.push("\\a");
    else if (c == 0x08) parts.push("\\b");
    else if (c == 0x0c) parts.push("\\f");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else if (c == 0x0b) parts.push("\\v");
    else if (c < 0x20 || c == 0x7f) parts.push("\\x" + hex2(c));
    else if (c >= 0x80 && c < 0xa0) parts.push("\\u00" + hex2(c));
    else if (c >= 0xd800 && c < 0xe000) parts.push("\\ufffd");
    else parts.push(String.fromCharCode(c));
  }
  parts.push('"');
  return parts.join("");
}

function hex2(c: u32): string {
  const h = "0123456789abcdef";
  return h.charAt(<i32>((c >> 4) & 15)) + h.charAt(<i32>(c & 15));
}
