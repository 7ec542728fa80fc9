// Command gen writes the WAT fault fixtures of host's tests (host/testdata/*.wat).
// The descriptors are encoded with sdk/abi so they stay correct; the .wasm files
// are made from the .wat with wabt's wat2wasm. Both are committed; rebuild with
//
//	make plugins-fixtures
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

type fixture struct {
	Name    string
	Comment string
	Desc    abi.Descriptor
	Marker  string // default abi.MarkerExport
	Imports string // extra imports
	Check   string // body of gatehouse_password_check (param $n i32) (result i32)
	Extra   string // extra module fields
	RawDesc []byte // describe output instead of Desc
}

// passwordLast is a WAT function, $password_last, shared by fixtures that act
// on the last character of the password.
const passwordLast = `;; $password_last returns the last byte of field 8 of the input at 65536, or 0.
  ;; Keys are one byte (fields below 16); lengths are varints.
  (func $password_last (param $n i32) (result i32)
    (local $p i32) (local $end i32) (local $key i32) (local $len i32) (local $shift i32) (local $b i32)
    (local.set $p (i32.const 65536))
    (local.set $end (i32.add (i32.const 65536) (local.get $n)))
    (block $done
      (loop $field
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $key (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $key) (i32.const 7)))
          (then ;; varint: skip its bytes
            (loop $skip
              (local.set $b (i32.load8_u (local.get $p)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br_if $skip (i32.and (local.get $b) (i32.const 128))))
            (br $field)))
        ;; length-delimited: read the length
        (local.set $len (i32.const 0))
        (local.set $shift (i32.const 0))
        (loop $varint
          (local.set $b (i32.load8_u (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $len (i32.or (local.get $len) (i32.shl (i32.and (local.get $b) (i32.const 127)) (local.get $shift))))
          (local.set $shift (i32.add (local.get $shift) (i32.const 7)))
          (br_if $varint (i32.and (local.get $b) (i32.const 128))))
        (if (i32.and (i32.eq (local.get $key) (i32.const 0x42)) (i32.gt_u (local.get $len) (i32.const 0)))
          (then (return (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 1))))))
        (local.set $p (i32.add (local.get $p) (local.get $len)))
        (br $field)))
    (i32.const 0))
`

func pw(id string, codes ...string) abi.Descriptor {
	return abi.Descriptor{ABIMinor: abi.Minor, ID: id, Name: id, Version: "0.0.1", Kind: abi.KindPassword,
		Hooks: []string{abi.HookPasswordCheck}, Codes: codes}
}

var fixtures = []fixture{
	{Name: "ok", Comment: "accepts every password: the smallest conforming plugin", Desc: pw("password.wat-ok"), Check: `(i32.const 0)`},
	{Name: "chaos", Comment: `misbehaves on demand, chosen by the last character of the password (field 8
;; of the request, found by walking the request's fields):
;;   T trap, L loop forever, M grow memory until the limit then trap, G garbage output,
;;   S unknown status 42, B status bad_input, F status failed, E denied without a reason,
;;   U denied with an undeclared code, O output past the ABI's limit, D a proper denial,
;;   anything else accepted.`,
		Desc: pw("password.chaos", "CHAOS_REFUSED"),
		Check: `(local $c i32)
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then (return (i32.const 2))))
    (drop (call $input_read (i32.const 65536) (local.get $n)))
    (local.set $c (call $password_last (local.get $n)))
    (if (i32.eq (local.get $c) (i32.const 84)) (then unreachable))                       ;; T
    (if (i32.eq (local.get $c) (i32.const 76)) (then (loop $forever (br $forever))))     ;; L
    (if (i32.eq (local.get $c) (i32.const 77)) (then                                     ;; M
      (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable))
    (if (i32.eq (local.get $c) (i32.const 71)) (then                                     ;; G
      (call $output_write (i32.const 2048) (i32.const 8)) (return (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 83)) (then (return (i32.const 42))))           ;; S
    (if (i32.eq (local.get $c) (i32.const 66)) (then (return (i32.const 2))))            ;; B
    (if (i32.eq (local.get $c) (i32.const 70)) (then (return (i32.const 3))))            ;; F
    (if (i32.eq (local.get $c) (i32.const 69)) (then (return (i32.const 1))))            ;; E
    (if (i32.eq (local.get $c) (i32.const 85)) (then                                     ;; U
      (call $output_write (i32.const 3072) (global.get $undeclared_len)) (return (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 79)) (then                                     ;; O
      (loop $more (call $output_write (i32.const 0) (i32.const 65536)) (br $more))))
    (if (i32.eq (local.get $c) (i32.const 68)) (then                                     ;; D
      (call $output_write (i32.const 1024) (global.get $denial_len)) (return (i32.const 1))))
    (i32.const 0)`,
		Extra: passwordLast + `  (data (i32.const 1024) "{{result "CHAOS_REFUSED" "Refused by the chaos fixture"}}")
  (global $denial_len i32 (i32.const {{resultLen "CHAOS_REFUSED" "Refused by the chaos fixture"}}))
  (data (i32.const 2048) "\ff\ff\ff\ff\ff\ff\ff\ff")
  (data (i32.const 3072) "{{result "NOT_DECLARED" "Refused with a code the descriptor does not list"}}")
  (global $undeclared_len i32 (i32.const {{resultLen "NOT_DECLARED" "Refused with a code the descriptor does not list"}}))`},
	{Name: "abi-v2", Comment: "speaks ABI v2, which this host does not", Desc: pw("password.abi-v2"), Marker: "gatehouse_abi_v2", Check: `(i32.const 0)`},
	{Name: "abi-minor", Comment: "built for ABI v1.99, newer than this host", Desc: func() abi.Descriptor { d := pw("password.abi-minor"); d.ABIMinor = 99; return d }(), Check: `(i32.const 0)`},
	{Name: "no-marker", Comment: "has no ABI marker export", Desc: pw("password.no-marker"), Marker: "-", Check: `(i32.const 0)`},
	{Name: "bad-descriptor", Comment: "describes itself with bytes that do not decode", RawDesc: []byte{0xff, 0xff, 0xff}, Check: `(i32.const 0)`},
	{Name: "wrong-namespace", Comment: "a password plugin whose id is in another kind's namespace", Desc: func() abi.Descriptor { d := pw("twofactor.imposter"); return d }(), Check: `(i32.const 0)`},
	{Name: "missing-hook", Comment: "declares password_check but does not export it", Desc: pw("password.missing-hook"), Check: "-"},
	{Name: "wrong-signature", Comment: "exports password_check with the wrong signature", Desc: pw("password.wrong-signature"), Check: "-",
		Extra: `(func (export "gatehouse_password_check") (param i64) (result i32) (i32.const 0))`},
	{Name: "init-trap", Comment: "traps in _initialize", Desc: pw("password.init-trap"), Check: `(i32.const 0)`,
		Extra: `(func (export "_initialize") unreachable)`},
	{Name: "unknown-import", Comment: "imports a function the host does not provide", Desc: pw("password.unknown-import"), Check: `(i32.const 0)`,
		Imports: `(import "env" "getenv" (func $getenv (param i32) (result i32)))`},
	{Name: "entropy", Comment: `checks the clock and shows the random source: fails (status 3) if WASI's
;; realtime clock reads before 2023 (wazero's fake clock reads 2022-01-01), else denies with
;; code ENTROPY and 16 bytes from WASI's random_get, in hex, as the message`,
		Desc: pw("password.entropy", "ENTROPY"),
		Imports: `(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))`,
		Check: `(local $i i32) (local $b i32)
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 4992)))
    (if (i64.lt_u (i64.load (i32.const 4992)) (i64.const 1672531200000000000)) (then (return (i32.const 3))))
    (drop (call $random (i32.const 4096) (i32.const 16)))
    (loop $hex
      (local.set $b (i32.load8_u (i32.add (i32.const 4096) (local.get $i))))
      (i32.store8 (i32.add (i32.const 5013) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 4200) (i32.shr_u (local.get $b) (i32.const 4)))))
      (i32.store8 (i32.add (i32.const 5014) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 4200) (i32.and (local.get $b) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $hex (i32.lt_u (local.get $i) (i32.const 16))))
    (call $output_write (i32.const 5000) (i32.const 45))
    (i32.const 1)`,
		Extra: `(data (i32.const 4200) "0123456789abcdef")
  (data (i32.const 5000) "\0a\2b\0a\07ENTROPY\12\20")`},
	{Name: "cap-crypto", Comment: `uses the crypto capability: accepts a password when HMAC-SHA1 of it under
;; the key "key" returns 20 bytes`,
		Desc: func() abi.Descriptor {
			d := pw("password.cap-crypto")
			d.Capabilities = []string{abi.CapCrypto}
			return d
		}(),
		Imports: `(import "gatehouse_crypto_v1" "hmac" (func $hmac (param i32 i32 i32 i32 i32 i32 i32) (result i32)))`,
		Check: `(drop (call $input_read (i32.const 65536) (i32.const 60000)))
    (if (result i32) (i32.eq (call $hmac (i32.const 1) (i32.const 4000) (i32.const 3) (i32.const 65536) (local.get $n) (i32.const 4096) (i32.const 64)) (i32.const 20))
      (then (i32.const 0)) (else (i32.const 3)))`,
		Extra: `(data (i32.const 4000) "key")`},
	{Name: "cap-undeclared", Comment: "imports the crypto capability without declaring it",
		Desc:    pw("password.cap-undeclared"),
		Imports: `(import "gatehouse_crypto_v1" "hmac" (func $hmac (param i32 i32 i32 i32 i32 i32 i32) (result i32)))`,
		Check:   `(i32.const 0)`},
	{Name: "cap-http", Comment: "imports the http capability (declared): loads only when the operator grants it",
		Desc:    func() abi.Descriptor { d := pw("password.cap-http"); d.Capabilities = []string{abi.CapHTTP}; return d }(),
		Imports: `(import "gatehouse_http_v1" "request" (func $request (param i32 i32) (result i32)))`,
		Check:   `(i32.const 0)`},
	{Name: "cap-outbox", Comment: `uses the outbox capability, chosen by the last character of the password:
;;   R reply_read before any transport call (traps), G an undecodable request (traps),
;;   P a request with a bad message id (denied OUTBOX_REFUSED when the reply says permanent),
;;   anything else writes "hello" as wat-fixture.eml: accepted when the reply is empty (outcome
;;   ok), status 3 otherwise`,
		Desc: func() abi.Descriptor {
			d := pw("password.cap-outbox", "OUTBOX_REFUSED")
			d.Capabilities = []string{abi.CapOutbox}
			return d
		}(),
		Imports: `(import "gatehouse_outbox_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "gatehouse_outbox_v1" "reply_read" (func $reply_read (param i32 i32) (result i32)))`,
		Check: `(local $c i32) (local $req i32) (local $len i32)
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then (return (i32.const 2))))
    (drop (call $input_read (i32.const 65536) (local.get $n)))
    (local.set $c (call $password_last (local.get $n)))
    (if (i32.eq (local.get $c) (i32.const 82)) (then                                     ;; R
      (drop (call $reply_read (i32.const 8192) (i32.const 64))) (return (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 71)) (then                                     ;; G
      (drop (call $write (i32.const 2048) (i32.const 8))) (return (i32.const 0))))
    (local.set $req (i32.const 4096))
    (local.set $len (global.get $ok_len))
    (if (i32.eq (local.get $c) (i32.const 80)) (then                                     ;; P
      (local.set $req (i32.const 4608)) (local.set $len (global.get $bad_len))))
    (local.set $len (call $write (local.get $req) (local.get $len)))
    (if (i32.ne (call $reply_read (i32.const 8192) (i32.const 64)) (local.get $len)) (then (return (i32.const 3))))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 0))))
    (if (i32.eq (i32.load16_u (i32.const 8192)) (i32.const 0x0108)) (then               ;; outcome permanent
      (call $output_write (i32.const 1024) (global.get $denial_len)) (return (i32.const 1))))
    (i32.const 3)`,
		Extra: passwordLast + `  (data (i32.const 1024) "{{result "OUTBOX_REFUSED" "The host refused the outbox write"}}")
  (global $denial_len i32 (i32.const {{resultLen "OUTBOX_REFUSED" "The host refused the outbox write"}}))
  (data (i32.const 2048) "\ff\ff\ff\ff\ff\ff\ff\ff")
  (data (i32.const 4096) "{{outbox "wat-fixture" "hello"}}")
  (global $ok_len i32 (i32.const {{outboxLen "wat-fixture" "hello"}}))
  (data (i32.const 4608) "{{outbox "../escape" "hello"}}")
  (global $bad_len i32 (i32.const {{outboxLen "../escape" "hello"}}))`},
}

const skeleton = `;; Fault fixture "{{.Name}}": {{.Comment}}
;; Generated by host/testdata/gen; rebuild with ` + "`make plugins-fixtures`" + `.
(module
  (import "gatehouse_v1" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "gatehouse_v1" "output_write" (func $output_write (param i32 i32)))
  {{.Imports}}
  (memory (export "memory") 2)
{{- if ne .Marker "-"}}
  (func (export "{{.Marker}}"))
{{- end}}
  ;; the descriptor, {{len .DescBytes}} bytes: {{.DescText}}
  (data (i32.const 0) "{{wat .DescBytes}}")
  (func (export "gatehouse_describe") (param i32) (result i32)
    (call $output_write (i32.const 0) (i32.const {{len .DescBytes}}))
    (i32.const 0))
{{- if ne .Check "-"}}
  (func (export "gatehouse_password_check") (param $n i32) (result i32)
    {{.Check}})
{{- end}}
  {{.ExtraText}}
)
`

func wat(b []byte) string {
	var s bytes.Buffer
	for _, c := range b {
		fmt.Fprintf(&s, "\\%02x", c)
	}
	return s.String()
}

func result(code, msg string) []byte {
	return (&abi.Result{Reasons: []abi.Reason{{Code: code, Message: msg}}}).Marshal(nil)
}

func outboxWrite(id, data string) []byte {
	return (&abi.OutboxWrite{MessageID: id, Data: []byte(data)}).Marshal(nil)
}

func main() {
	dir := "host/testdata"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	funcs := template.FuncMap{
		"wat":       wat,
		"result":    func(c, m string) string { return wat(result(c, m)) },
		"resultLen": func(c, m string) int { return len(result(c, m)) },
		"outbox":    func(id, data string) string { return wat(outboxWrite(id, data)) },
		"outboxLen": func(id, data string) int { return len(outboxWrite(id, data)) },
	}
	skel := template.Must(template.New("skel").Funcs(funcs).Parse(skeleton))
	for _, f := range fixtures {
		if f.Marker == "" {
			f.Marker = abi.MarkerExport
		}
		desc := f.RawDesc
		if desc == nil {
			desc = f.Desc.Marshal(nil)
		}
		var extra bytes.Buffer
		template.Must(template.New("extra").Funcs(funcs).Parse(f.Extra)).Execute(&extra, nil)
		var out bytes.Buffer
		err := skel.Execute(&out, struct {
			fixture
			DescBytes []byte
			DescText  string
			ExtraText string
		}{f, desc, descText(f), extra.String()})
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+".wat"), out.Bytes(), 0o644); err != nil {
			panic(err)
		}
	}
}

func descText(f fixture) string {
	if f.RawDesc != nil {
		return "not a valid descriptor"
	}
	d := f.Desc
	return fmt.Sprintf("abi 1.%d, id %s, kind %s, hooks %v, capabilities %v, codes %v", d.ABIMinor, d.ID, d.Kind, d.Hooks, d.Capabilities, d.Codes)
}
