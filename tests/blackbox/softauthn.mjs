// A software WebAuthn authenticator and client for the black-box tests, written from the
// WebAuthn Level 3 and CTAP2 specifications with node:crypto only: ES256 keys, attestation
// "none", CBOR encoded by hand, and the JSON forms a browser's PublicKeyCredential.toJSON()
// gives (base64url without padding). It plays the browser too: it reads the server's
// PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON, checks them as a client would
// (RP ID, algorithms, excluded and allowed credentials) and writes the client data.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');
const sha256 = (buf) => createHash('sha256').update(buf).digest();

// ---- CBOR (RFC 8949), the subset CTAP2 uses, canonical map order ----

function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** CBOR-encode numbers (integers), strings, Buffers, arrays and Maps (or plain objects). */
export function cbor(v) {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error('cbor: integers only');
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, s.length), s]);
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  const enc = entries.map(([k, val]) => [cbor(k), cbor(val)]);
  // CTAP2 canonical order: shorter encoded key first, then bytewise.
  enc.sort(([a], [b]) => a.length - b.length || Buffer.compare(a, b));
  return Buffer.concat([head(5, enc.length), ...enc.flat()]);
}

// ---- the authenticator ----

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** One ES256 credential on a software authenticator, with the client around it. */
export class SoftAuthenticator {
  /**
   * origin: the origin the "browser" runs the ceremony on; rpId: overrides the options' RP ID
   * (to forge a wrong one); userVerified: the UV flag.
   */
  constructor({ origin, userVerified = true } = {}) {
    this.origin = origin;
    this.userVerified = userVerified;
    this.credId = null;
    this.counter = 0;
    this.aaguid = Buffer.alloc(16); // the zero AAGUID, as with attestation "none"
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cose = cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, unb64u(jwk.x)], [-3, unb64u(jwk.y)]]));
  }

  flags(extra = 0) {
    return FLAG_UP | (this.userVerified ? FLAG_UV : 0) | extra;
  }

  authData(rpId, flags, attested = Buffer.alloc(0), counter = this.counter) {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(Buffer.from(rpId)), Buffer.from([flags]), count, attested]);
  }

  /**
   * navigator.credentials.create(): options is the server's {"publicKey": ...}. Overrides
   * forge the ceremony: { origin, rpId, challenge, type, attestationObject }.
   * Returns the RegistrationResponseJSON object.
   */
  create(options, over = {}) {
    const pk = options.publicKey;
    if (!pk || typeof pk.challenge !== 'string') throw new Error('create: no publicKey options');
    if (!pk.pubKeyCredParams?.some((p) => p.type === 'public-key' && p.alg === -7)) {
      throw new Error('create: the server does not accept ES256');
    }
    if (pk.attestation && !['none', 'indirect', 'direct', 'enterprise'].includes(pk.attestation)) {
      throw new Error(`create: attestation ${pk.attestation}`);
    }
    const rpId = over.rpId ?? pk.rp?.id ?? new URL(this.origin).hostname;
    this.credId ??= randomBytes(32);
    if ((pk.excludeCredentials || []).some((c) => c.id === b64u(this.credId))) {
      throw new Error('InvalidStateError: the authenticator already holds a credential of this account');
    }
    this.userHandle = pk.user?.id;
    const clientData = Buffer.from(JSON.stringify({
      type: over.type ?? 'webauthn.create',
      challenge: over.challenge ?? pk.challenge,
      origin: over.origin ?? this.origin,
      crossOrigin: false,
    }));
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(this.credId.length);
    const attested = Buffer.concat([this.aaguid, idLen, this.credId, this.cose]);
    const authData = this.authData(rpId, this.flags(FLAG_AT), attested);
    const attObj = over.attestationObject ?? cbor({ fmt: 'none', attStmt: {}, authData });
    return {
      id: b64u(this.credId),
      rawId: b64u(this.credId),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(attObj),
        transports: ['internal'],
        publicKeyAlgorithm: -7,
      },
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get(): options is the server's {"publicKey": ...}. Overrides:
   * { origin, rpId, challenge, type, counter, signature }. Returns the
   * AuthenticationResponseJSON object.
   */
  get(options, over = {}) {
    const pk = options.publicKey;
    if (!pk || typeof pk.challenge !== 'string') throw new Error('get: no publicKey options');
    if (!this.credId) throw new Error('get: no credential');
    const allowed = pk.allowCredentials || [];
    if (!over.ignoreAllowList && allowed.length && !allowed.some((c) => c.id === b64u(this.credId))) {
      throw new Error('NotAllowedError: no allowed credential on this authenticator');
    }
    const rpId = over.rpId ?? pk.rpId ?? new URL(this.origin).hostname;
    // A forged counter is sent once; the authenticator's own goes on from where it was.
    const counter = over.counter ?? ++this.counter;
    const clientData = Buffer.from(JSON.stringify({
      type: over.type ?? 'webauthn.get',
      challenge: over.challenge ?? pk.challenge,
      origin: over.origin ?? this.origin,
      crossOrigin: false,
    }));
    const authData = this.authData(rpId, this.flags(), Buffer.alloc(0), counter);
    const signature = over.signature ??
      sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey); // ASN.1 DER
    return {
      id: b64u(this.credId),
      rawId: b64u(this.credId),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
    };
  }
}
