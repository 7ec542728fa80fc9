// A test module for the wire codec (not a plugin): roundtrip(kind, in_len) decodes its input as
// message `kind` with the SDK's decoder and writes it back with the SDK's encoder. The Go test
// tests/assemblyscript/codec_test.go runs it in wazero and compares the bytes with the Go
// codec (sdk/abi) for every field of every message. Built by ../build.sh into codec.wasm.

import { readInput, writeOutput } from "../host";
import { Encoder } from "../wire";
import {
  ConfigureRequest, Descriptor, DeliverRequest, HostInfo, HTTPRequest, HTTPResponse, OutboxWrite,
  PasswordCheckRequest, Reply, Result, SMTPSend, TwoFactorRequest, TwoFactorResult,
} from "../messages";

export function roundtrip(kind: i32, inLen: i32): i32 {
  const b = readInput(inLen);
  const e = new Encoder();
  switch (kind) {
    case 1: { const m = HostInfo.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 2: { const m = Descriptor.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 3: { const m = ConfigureRequest.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 4: { const m = Result.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 5: { const m = PasswordCheckRequest.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 6: { const m = TwoFactorRequest.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 7: { const m = TwoFactorResult.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 8: { const m = DeliverRequest.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 9: { const m = SMTPSend.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 10: { const m = OutboxWrite.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 11: { const m = Reply.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 12: { const m = HTTPRequest.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    case 13: { const m = HTTPResponse.decode(b); if (m === null) return 2; m.encodeTo(e); break; }
    default: return 3;
  }
  writeOutput(e.buf, e.len);
  __collect();
  return 0;
}
