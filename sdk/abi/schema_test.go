package abi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// protoField is one field declaration of abi.proto.
type protoField struct {
	label  string // "", "optional" or "repeated"
	typ    string // a scalar type or a message name
	name   string
	number int
}

// parseProto reads the subset of proto3 that abi.proto uses: top-level
// messages whose fields are scalars or other messages, with // comments.
func parseProto(t *testing.T, path string) (order []string, msgs map[string][]protoField) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs = map[string][]protoField{}
	fieldRE := regexp.MustCompile(`^(?:(optional|repeated)\s+)?([A-Za-z][A-Za-z0-9]*)\s+([a-z][a-z0-9_]*)\s*=\s*([0-9]+)\s*;$`)
	current := ""
	for i, line := range strings.Split(string(src), "\n") {
		if c := strings.Index(line, "//"); c >= 0 {
			line = line[:c]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "syntax ="), strings.HasPrefix(line, "package "), strings.HasPrefix(line, "option "):
		case strings.HasPrefix(line, "message ") && strings.HasSuffix(line, "{") && current == "":
			current = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "message "), "{"))
			order = append(order, current)
		case line == "}" && current != "":
			current = ""
		default:
			m := fieldRE.FindStringSubmatch(line)
			if m == nil || current == "" {
				t.Fatalf("abi.proto:%d: not in the subset this test reads: %q", i+1, line)
			}
			n, _ := strconv.Atoi(m[4])
			msgs[current] = append(msgs[current], protoField{label: m[1], typ: m[2], name: m[3], number: n})
		}
	}
	return order, msgs
}

// goTypes are the Go types of the schema's messages, by message name.
var goTypes = map[string]reflect.Type{}

func init() {
	for _, v := range []any{HostInfo{}, Descriptor{}, TwoFactorInfo{}, TwoFactorCodes{}, ConfigureRequest{}, Reason{}, Result{},
		PasswordCheckRequest{}, TwoFactorRequest{}, TwoFactorResult{}, Message{}, DeliverRequest{},
		SMTPSend{}, OutboxWrite{}, Reply{}, HTTPRequest{}, HTTPResponse{}} {
		goTypes[reflect.TypeOf(v).Name()] = reflect.TypeOf(v)
	}
}

// goFieldName maps a field's name in the schema to its Go name: snake_case
// to CamelCase, with Go's initialisms.
func goFieldName(name string) string {
	if name == "twofactor" {
		return "TwoFactor"
	}
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		switch part {
		case "id", "uri", "html", "abi", "rp", "url", "json":
			b.WriteString(strings.ToUpper(part))
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// wireOf is the wire type a field of the schema is written with.
func wireOf(typ string) protowire.Type {
	switch typ {
	case "uint32", "uint64", "int64", "bool":
		return protowire.VarintType
	}
	return protowire.BytesType
}

// TestSchemaMatchesCode checks the Go codec against abi.proto: every message
// of the schema is a Go type with exactly its fields, and every field, set
// alone, is written under its number with its wire type and decodes back to
// the same value (nested messages through the message that holds them).
func TestSchemaMatchesCode(t *testing.T) {
	order, msgs := parseProto(t, "abi.proto")
	if len(order) != len(goTypes) {
		t.Errorf("abi.proto has %d messages, the Go codec %d", len(order), len(goTypes))
	}
	// Where each nested message is held: message name → (holder, field).
	holders := map[string][2]string{}
	for _, name := range order {
		for _, f := range msgs[name] {
			if _, ok := msgs[f.typ]; ok {
				if _, seen := holders[f.typ]; !seen {
					holders[f.typ] = [2]string{name, f.name}
				}
			}
		}
	}
	for _, name := range order {
		typ, ok := goTypes[name]
		if !ok {
			t.Errorf("message %s has no Go type", name)
			continue
		}
		fields := msgs[name]
		if typ.NumField() != len(fields) {
			t.Errorf("%s: %d fields in abi.proto, %d in Go", name, len(fields), typ.NumField())
		}
		for _, f := range fields {
			t.Run(name+"."+f.name, func(t *testing.T) {
				sf, ok := typ.FieldByName(goFieldName(f.name))
				if !ok {
					t.Fatalf("no Go field %s", goFieldName(f.name))
				}
				v := reflect.New(typ).Elem()
				setSample(t, v.FieldByIndex(sf.Index), f, msgs)
				checkField(t, name, v, f, holders, msgs)
			})
		}
	}
}

// setSample sets a field to a value that is not its zero value: for a
// repeated string, two elements of which one is empty (so the test sees
// that every element is written).
func setSample(t *testing.T, v reflect.Value, f protoField, msgs map[string][]protoField) {
	t.Helper()
	if _, nested := msgs[f.typ]; nested {
		inner := reflect.New(goTypes[f.typ]).Elem()
		first := msgs[f.typ][0]
		sf, _ := goTypes[f.typ].FieldByName(goFieldName(first.name))
		setSample(t, inner.FieldByIndex(sf.Index), first, msgs)
		switch v.Kind() {
		case reflect.Pointer:
			p := reflect.New(inner.Type())
			p.Elem().Set(inner)
			v.Set(p)
		case reflect.Slice:
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), inner))
		default:
			v.Set(inner)
		}
		return
	}
	switch {
	case f.label == "repeated" && f.typ == "string" && v.Kind() == reflect.Slice:
		v.Set(reflect.ValueOf([]string{"ä-value", ""}))
	case f.label == "repeated":
		t.Fatalf("repeated %s is not in the subset", f.typ)
	case f.typ == "string" && v.Kind() == reflect.String:
		v.SetString("ä-value")
	case f.typ == "bytes" && v.Type() == reflect.TypeOf([]byte(nil)):
		v.SetBytes([]byte{0, 0xff})
	case f.typ == "bool" && v.Kind() == reflect.Bool:
		v.SetBool(true)
	case f.typ == "int64" && v.Kind() == reflect.Int64:
		v.SetInt(-1764000000123456789)
	case (f.typ == "uint32" && v.Kind() == reflect.Uint32) || (f.typ == "uint64" && v.Kind() == reflect.Uint64):
		v.SetUint(300)
	default:
		t.Fatalf("%s %s is %s in Go", f.typ, f.name, v.Type())
	}
}

type marshaler interface{ Marshal([]byte) []byte }
type unmarshaler interface{ Unmarshal([]byte) error }

// checkField marshals v (a message with the one field f set), finds the
// field's bytes, and decodes them back. A nested message is put into the
// message that holds it first.
func checkField(t *testing.T, name string, v reflect.Value, f protoField, holders map[string][2]string, msgs map[string][]protoField) {
	t.Helper()
	path := []int{f.number}
	top := v
	for {
		if _, ok := top.Addr().Interface().(marshaler); ok {
			break
		}
		h, ok := holders[name]
		if !ok {
			t.Fatalf("%s is neither a top-level message nor held by one", name)
		}
		holder := reflect.New(goTypes[h[0]]).Elem()
		sf, _ := goTypes[h[0]].FieldByName(goFieldName(h[1]))
		hv := holder.FieldByIndex(sf.Index)
		switch hv.Kind() {
		case reflect.Pointer:
			p := reflect.New(top.Type())
			p.Elem().Set(top)
			hv.Set(p)
		case reflect.Slice:
			hv.Set(reflect.Append(reflect.MakeSlice(hv.Type(), 0, 1), top))
		default:
			hv.Set(top)
		}
		for _, hf := range msgs[h[0]] {
			if hf.name == h[1] {
				path = append([]int{hf.number}, path...)
			}
		}
		name, top = h[0], holder
	}
	b := top.Addr().Interface().(marshaler).Marshal(nil)
	// Walk down to the field through the nested messages.
	for depth, num := range path {
		last := depth == len(path)-1
		var values [][]byte
		for len(b) > 0 {
			n, typ, l := protowire.ConsumeTag(b)
			if l < 0 {
				t.Fatalf("unreadable output % x", b)
			}
			b = b[l:]
			l = protowire.ConsumeFieldValue(n, typ, b)
			if int(n) != num {
				t.Fatalf("field %d written, only %d expected", n, num)
			}
			want := protowire.BytesType
			if last {
				want = wireOf(f.typ)
			}
			if typ != want {
				t.Fatalf("field %d written with wire type %d, want %d", n, typ, want)
			}
			values = append(values, b[:l])
			b = b[l:]
		}
		wantCount := 1
		if last && f.label == "repeated" && f.typ == "string" {
			wantCount = 2
		}
		if len(values) != wantCount {
			t.Fatalf("field %d written %d times, want %d", num, len(values), wantCount)
		}
		if !last {
			b, _ = protowire.ConsumeBytes(values[0])
		}
	}
	back := reflect.New(top.Type())
	if err := back.Interface().(unmarshaler).Unmarshal(top.Addr().Interface().(marshaler).Marshal(nil)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Elem().Interface(), top.Interface()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back.Elem().Interface(), top.Interface())
	}
}

// An optional byte string is written when present but empty, and not when
// absent; every other scalar's zero value is not written.
func TestOptionalPresence(t *testing.T) {
	_, msgs := parseProto(t, "abi.proto")
	optional := map[string]bool{}
	for name, fs := range msgs {
		for _, f := range fs {
			if f.label == "optional" {
				optional[name+"."+f.name] = true
			}
		}
	}
	if !optional["TwoFactorRequest.state"] || !optional["TwoFactorResult.state"] || !optional["TwoFactorRequest.active_state"] || len(optional) != 3 {
		t.Fatalf("optional fields: %v", optional)
	}
	for _, tt := range []struct {
		msg  marshaler
		want []byte
	}{
		{&TwoFactorRequest{State: []byte{}}, []byte{0x5a, 0}},
		{&TwoFactorRequest{}, nil},
		{&TwoFactorRequest{ActiveState: []byte{}}, []byte{0x9a, 0x01, 0}},
		{&TwoFactorResult{State: []byte{}}, []byte{0x42, 0}},
		{&TwoFactorResult{}, nil},
	} {
		if got := tt.msg.Marshal(nil); !bytes.Equal(got, tt.want) {
			t.Errorf("%T%+v: % x, want % x", tt.msg, tt.msg, got, tt.want)
		}
	}
	var back TwoFactorRequest
	if err := back.Unmarshal([]byte{0x5a, 0}); err != nil || back.State == nil {
		t.Fatalf("empty state decoded as absent: %v", err)
	}
}

// protoc, when installed (Debian's protobuf-compiler), accepts abi.proto, and
// encodes a message to the same bytes as the Go codec.
func TestProtocAcceptsSchema(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (apt-get install protobuf-compiler)")
	}
	out := filepath.Join(t.TempDir(), "abi.pb")
	if b, err := exec.Command(protoc, "--proto_path=.", "--descriptor_set_out="+out, "abi.proto").CombinedOutput(); err != nil {
		t.Fatalf("protoc refuses abi.proto: %v\n%s", err, b)
	}
	for _, tt := range []struct {
		message, text string
		msg           marshaler
	}{
		{"PasswordCheckRequest", `now: 300 password: "Ab1" field: "password"`,
			&PasswordCheckRequest{Now: 300, Password: "Ab1", Field: "password"}},
		{"TwoFactorResult", `reasons { code: "X_INVALID" message: "m" } state: "" replay_key: "7" public: "email" public: ""`,
			&TwoFactorResult{Reasons: []Reason{{Code: "X_INVALID", Message: "m"}}, State: []byte{}, ReplayKey: "7", Public: []string{"email", ""}}},
		{"Descriptor", `abi_minor: 1 id: "twofactor.x" kind: "twofactor" hooks: "twofactor_enroll" twofactor { route: "x" codes { corrupt: "X_BAD" } replay_window_seconds: 90 }`,
			&Descriptor{ABIMinor: 1, ID: "twofactor.x", Kind: KindTwoFactor, Hooks: []string{HookTwoFactorEnroll},
				TwoFactor: &TwoFactorInfo{Route: "x", Codes: TwoFactorCodes{Corrupt: "X_BAD"}, ReplayWindowSeconds: 90}}},
		{"HTTPResponse", `outcome: 2 error: "e" status: 202 headers: "A" headers: "" body: "b" truncated: true`,
			&HTTPResponse{Outcome: OutcomeTemporary, Error: "e", Status: 202, Headers: []string{"A", ""}, Body: []byte("b"), Truncated: true}},
	} {
		cmd := exec.Command(protoc, "--proto_path=.", "--encode=gatehouse.abi.v1."+tt.message, "abi.proto")
		cmd.Stdin = strings.NewReader(tt.text)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("protoc --encode %s: %v\n%s", tt.message, err, stderr.Bytes())
		}
		if got := tt.msg.Marshal(nil); !bytes.Equal(got, want) {
			t.Errorf("%s: Go % x\nprotoc % x", tt.message, got, want)
		}
	}
}
