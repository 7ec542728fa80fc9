// A small but real SMTP server for the black-box suites (Node.js standard library only).
//
//   const smtp = new SmtpServer();             // 127.0.0.1, a free port
//   await smtp.start();                        // smtp.port, smtp.addr ("127.0.0.1:<port>")
//   const m = await smtp.waitFor((m) => m.to.includes(addr), 10000);
//   m.subject, m.text, m.headers['message-id'], m.raw
//   smtp.failNext(1);                          // the next message gets 451 after its DATA
//   await smtp.stop(); await smtp.start();     // stopped, then listening on the same port again
//
// Speaks RFC 5321 over plain TCP: a 220 greeting, EHLO (advertises 8BITMIME, SIZE,
// ENHANCEDSTATUSCODES, HELP; STARTTLS only when asked to, then answered 454) and HELO, MAIL FROM (with
// ESMTP parameters), RCPT TO, DATA (dot-unstuffing until <CRLF>.<CRLF>), RSET, NOOP, VRFY, HELP,
// QUIT, with the 5xx/503 answers for bad syntax and bad sequence. Every accepted message is
// recorded as { id, from, to[], raw, headers, subject, text, html, receivedAt, helo }; messages
// refused with a transient error are recorded in `rejected`.

import { createServer } from 'node:net';
import { EventEmitter } from 'node:events';

const MAX_LINE = 4096; // longer command lines get 500 (RFC 5321 asks for at least 512)
const MAX_SIZE = 10 * 1024 * 1024;

export class SmtpServer extends EventEmitter {
  /**
   * Options: host (default 127.0.0.1), port (default: a free one, kept across restarts),
   * hostname (used in the greeting), advertiseStartTls (default false: STARTTLS is advertised
   * and then answered 454, for tests that want to see a client cope).
   */
  constructor({ host = '127.0.0.1', port = 0, hostname = 'smtp.test.local', advertiseStartTls = false } = {}) {
    super();
    this.setMaxListeners(0); // one listener per pending waitFor
    this.host = host;
    this.port = port;
    this.hostname = hostname;
    this.advertiseStartTls = advertiseStartTls;
    this.messages = [];
    this.rejected = [];
    this.sessions = 0;
    this.commands = []; // every command line received (for debugging), capped
    this._failNext = 0;
    this._failCode = 451;
    this._server = null;
    this._sockets = new Set();
    this._seq = 0;
  }

  get addr() {
    return `${this.host}:${this.port}`;
  }

  /** Id of the last accepted message (0: none yet); later messages have larger ids. */
  get lastId() {
    return this._seq;
  }

  get running() {
    return !!this._server;
  }

  /** Listen (on the port of the previous run, if any). */
  start() {
    if (this._server) return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      const server = createServer((sock) => this._session(sock));
      server.on('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        server.on('error', (e) => this.emit('error', e));
        this._server = server;
        this.port = server.address().port;
        resolve(this);
      });
    });
  }

  /** Stop listening and drop every open connection (the client sees a reset or EOF). */
  stop() {
    const server = this._server;
    if (!server) return Promise.resolve();
    this._server = null;
    for (const s of this._sockets) s.destroy();
    this._sockets.clear();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Answer `code` (default 451, transient) at the end of DATA for the next `n` messages. */
  failNext(n = 1, code = 451) {
    this._failNext = n;
    this._failCode = code;
  }

  /** Messages matching `pred` so far. */
  find(pred = () => true) {
    return this.messages.filter(pred);
  }

  count(pred = () => true) {
    return this.find(pred).length;
  }

  /**
   * The first recorded message matching `pred`, waiting up to `timeoutMs` for it to arrive.
   * Rejects with a descriptive error on timeout.
   */
  waitFor(pred = () => true, timeoutMs = 10000) {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const onMsg = (m) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off('message', onMsg);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.off('message', onMsg);
        const seen = this.messages.map((m) => `${m.to.join(',')}: ${m.subject}`).slice(-10);
        reject(new Error(`no matching mail within ${timeoutMs} ms (last received: ${JSON.stringify(seen)})`));
      }, timeoutMs);
      this.on('message', onMsg);
    });
  }

  // ------------------------------------------------------------------ protocol

  _session(sock) {
    this._sockets.add(sock);
    this.sessions++;
    sock.on('close', () => this._sockets.delete(sock));
    sock.on('error', () => {});
    sock.setNoDelay(true);

    const st = { connectedAt: Date.now(), helo: null, from: null, to: [], inData: false, data: [], dataSize: 0, buf: Buffer.alloc(0) };
    const reply = (text) => {
      if (!sock.destroyed) sock.write(text + '\r\n');
    };
    const resetTxn = () => {
      st.from = null;
      st.to = [];
      st.data = [];
      st.dataSize = 0;
    };

    reply(`220 ${this.hostname} ESMTP gatehouse-test ready`);

    const onLine = (lineBuf) => {
      if (st.inData) {
        const line = lineBuf.toString('latin1');
        if (line === '.') {
          st.inData = false;
          this._finishData(st, reply);
          resetTxn();
          return;
        }
        // Dot-unstuffing (RFC 5321 4.5.2): a leading dot was doubled by the client.
        const out = lineBuf[0] === 0x2e ? lineBuf.subarray(1) : lineBuf;
        st.dataSize += out.length + 2;
        if (st.dataSize <= MAX_SIZE) st.data.push(out);
        return;
      }
      const line = lineBuf.toString('utf8');
      if (this.commands.length < 5000) this.commands.push(line);
      const m = /^([A-Za-z]+)(?:[ ](.*))?$/.exec(line);
      if (!m) return reply('500 5.5.2 Syntax error, command unrecognized');
      const verb = m[1].toUpperCase();
      const arg = (m[2] ?? '').trim();
      switch (verb) {
        case 'EHLO': {
          if (!arg) return reply('501 5.5.4 EHLO needs a domain');
          st.helo = arg;
          resetTxn();
          const ext = [`${this.hostname} greets ${arg}`, '8BITMIME', `SIZE ${MAX_SIZE}`, 'ENHANCEDSTATUSCODES'];
          if (this.advertiseStartTls) ext.push('STARTTLS');
          ext.push('HELP');
          ext.forEach((e, i) => reply(`250${i === ext.length - 1 ? ' ' : '-'}${e}`));
          return;
        }
        case 'HELO':
          if (!arg) return reply('501 5.5.4 HELO needs a domain');
          st.helo = arg;
          resetTxn();
          return reply(`250 ${this.hostname}`);
        case 'STARTTLS':
          return reply(this.advertiseStartTls ? '454 4.7.0 TLS not available' : '502 5.5.1 Command not implemented');
        case 'MAIL': {
          if (!st.helo) return reply('503 5.5.1 Send EHLO/HELO first');
          if (st.from !== null) return reply('503 5.5.1 Nested MAIL command');
          const pm = /^FROM:\s*<([^<>]*)>((?:\s+[A-Za-z0-9-]+(?:=\S+)?)*)\s*$/i.exec(arg);
          if (!pm) return reply('501 5.5.4 Syntax: MAIL FROM:<address> [parameters]');
          const params = pm[2].trim().split(/\s+/).filter(Boolean);
          for (const p of params) {
            const [k, v] = p.split('=');
            const key = k.toUpperCase();
            if (key === 'BODY' && !/^(7BIT|8BITMIME)$/i.test(v || '')) return reply('501 5.5.4 Bad BODY parameter');
            if (key === 'SIZE' && Number(v) > MAX_SIZE) return reply('552 5.3.4 Message too big');
            if (!['BODY', 'SIZE', 'SMTPUTF8'].includes(key)) return reply(`555 5.5.4 Unsupported parameter ${k}`);
          }
          st.from = pm[1];
          st.to = [];
          return reply('250 2.1.0 Sender OK');
        }
        case 'RCPT': {
          if (st.from === null) return reply('503 5.5.1 Need MAIL before RCPT');
          const pm = /^TO:\s*<([^<>]+)>(\s+\S+)*\s*$/i.exec(arg);
          if (!pm) return reply('501 5.5.4 Syntax: RCPT TO:<address>');
          if (st.to.length >= 100) return reply('452 4.5.3 Too many recipients');
          st.to.push(pm[1]);
          return reply('250 2.1.5 Recipient OK');
        }
        case 'DATA':
          if (arg) return reply('501 5.5.4 DATA takes no arguments');
          if (st.from === null) return reply('503 5.5.1 Need MAIL command');
          if (st.to.length === 0) return reply('503 5.5.1 Need RCPT command');
          st.inData = true;
          st.data = [];
          st.dataSize = 0;
          return reply('354 Start mail input; end with <CRLF>.<CRLF>');
        case 'RSET':
          resetTxn();
          return reply('250 2.0.0 OK');
        case 'NOOP':
          return reply('250 2.0.0 OK');
        case 'VRFY':
          return reply('252 2.1.5 Cannot VRFY user, but will accept message');
        case 'HELP':
          return reply('214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY QUIT');
        case 'QUIT':
          reply(`221 2.0.0 ${this.hostname} closing connection`);
          sock.end();
          return;
        default:
          return reply('502 5.5.1 Command not implemented');
      }
    };

    sock.on('data', (chunk) => {
      st.buf = st.buf.length ? Buffer.concat([st.buf, chunk]) : chunk;
      let idx;
      while ((idx = st.buf.indexOf(0x0a)) >= 0) {
        let end = idx;
        if (end > 0 && st.buf[end - 1] === 0x0d) end--;
        const line = st.buf.subarray(0, end);
        st.buf = st.buf.subarray(idx + 1);
        onLine(line);
        if (sock.destroyed) return;
      }
      if (!st.inData && st.buf.length > MAX_LINE) {
        st.buf = Buffer.alloc(0);
        reply('500 5.5.6 Line too long');
      }
    });
  }

  _finishData(st, reply) {
    const raw = Buffer.concat(st.data.flatMap((l) => [l, Buffer.from('\r\n')])).toString('utf8');
    const base = { from: st.from, to: [...st.to], raw, helo: st.helo, connectedAt: st.connectedAt, receivedAt: Date.now() };
    if (st.dataSize > MAX_SIZE) {
      reply('552 5.3.4 Message too big');
      return;
    }
    if (this._failNext > 0) {
      this._failNext--;
      this.rejected.push({ ...base, ...safeParse(raw), code: this._failCode });
      this.emit('rejected', base);
      const permanent = this._failCode >= 500;
      reply(`${this._failCode} ${permanent ? '5.3.0' : '4.3.0'} ${permanent ? 'Refused' : 'Try again later'}`);
      return;
    }
    const msg = { id: ++this._seq, ...base, ...safeParse(raw) };
    this.messages.push(msg);
    reply(`250 2.0.0 OK queued as ${msg.id}`);
    this.emit('message', msg);
  }
}

// ------------------------------------------------------------------ MIME parsing

function safeParse(raw) {
  try {
    return parseMessage(raw);
  } catch (e) {
    return { headers: {}, subject: '', text: '', html: '', parseError: e.message };
  }
}

/** Split a MIME entity into { headers (lowercase keys, unfolded; repeated ones joined), body }. */
export function splitEntity(raw) {
  let sep = raw.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (sep < 0) {
    sep = raw.indexOf('\n\n');
    sepLen = 2;
  }
  const head = sep < 0 ? raw : raw.slice(0, sep);
  const body = sep < 0 ? '' : raw.slice(sep + sepLen);
  const headers = {};
  const unfolded = head.replace(/\r?\n[ \t]/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return { headers, body };
}

/** Parameter `name` of a structured header value such as a Content-Type. */
export function headerParam(value = '', name) {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i');
  const m = re.exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Quoted-printable (RFC 2045 6.7) to a UTF-8 string. */
export function decodeQuotedPrintable(s) {
  const soft = s.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(body, cte = '') {
  switch (cte.trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

/** RFC 2047 encoded words (Q and B, any charset Node knows; utf-8 expected) in a header value. */
export function decodeEncodedWords(value = '') {
  // Whitespace between two adjacent encoded words is not displayed (RFC 2047 section 6.2).
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset, enc, text) => {
    let buf;
    if (enc.toUpperCase() === 'B') buf = Buffer.from(text, 'base64');
    else {
      const bytes = [];
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === '_') bytes.push(0x20);
        else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
          bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(c.charCodeAt(0));
      }
      buf = Buffer.from(bytes);
    }
    const cs = charset.toLowerCase().split('*')[0];
    try {
      return new TextDecoder(cs).decode(buf);
    } catch {
      return buf.toString('utf8');
    }
  });
}

/**
 * Parse a message: headers, decoded subject, and the decoded text/plain and text/html parts of
 * a multipart/alternative body (or of a single-part text body).
 */
export function parseMessage(raw) {
  const { headers, body } = splitEntity(raw);
  const out = { headers, subject: decodeEncodedWords(headers.subject || ''), text: '', html: '', parts: [] };
  const ctype = headers['content-type'] || 'text/plain';
  if (/^multipart\//i.test(ctype)) {
    const boundary = headerParam(ctype, 'boundary');
    if (!boundary) throw new Error('multipart without boundary');
    const delim = `--${boundary}`;
    const chunks = body.split(new RegExp(`(?:^|\\r?\\n)${escapeRe(delim)}(--)?[ \\t]*(?:\\r?\\n|$)`));
    // chunks: [preamble, closeMarker, part1, closeMarker, part2, ...]
    for (let i = 2; i < chunks.length; i += 2) {
      if (chunks[i - 1] === '--') break; // after the close delimiter: epilogue
      const part = splitEntity(chunks[i] ?? '');
      const pt = (part.headers['content-type'] || 'text/plain').split(';')[0].trim().toLowerCase();
      const decoded = decodeBody(part.body, part.headers['content-transfer-encoding']);
      out.parts.push({ type: pt, headers: part.headers, body: decoded });
      if (pt === 'text/plain' && !out.text) out.text = decoded;
      if (pt === 'text/html' && !out.html) out.html = decoded;
    }
  } else {
    const decoded = decodeBody(body, headers['content-transfer-encoding']);
    out.parts.push({ type: ctype.split(';')[0].trim().toLowerCase(), headers, body: decoded });
    if (/^text\/html/i.test(ctype)) out.html = decoded;
    else out.text = decoded;
  }
  return out;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
