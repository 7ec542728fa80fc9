// Command twofactor-chaos is a fault fixture of host's twofactor tests: a
// twofactor plugin ("twofactor.chaos") that misbehaves on demand. The mode is
// the code (activate, verify, challenge) or the setup field "mode" (enroll):
//
//	ok          a proper success (state, replay key, public, an image at enroll, a message at challenge)
//	wrong       a proper denial with a new state
//	echo        success; Public echoes the request (user, email, service, code, params, now, request id); logs a line
//	panic       a Go panic (status failed)      exit        proc_exit
//	loop        an infinite loop                garbage     undecodable output
//	status42    an unknown status               badinput    status bad_input
//	noreason    denied without a reason         undeclared  denied with an undeclared code
//	okreasons   status ok with reasons          bigstate    a state over 64 KiB
//	notpng      an image that is not a PNG      nostate     success without a state
//	verifymsg   a message from verify           badtemplate a template outside its route
//	noto        a message without a recipient   oddvars     an odd number of vars
//	bigreplay   a replay key over 128 bytes     manypublic  9 public pairs
//	pathtemplate a template name that is a path
//
// ABI v1.2 output (the descriptor declares client data field "publicKey"):
//
//	clientdata  client data {"publicKey": {...}} (proper from enroll and challenge)
//	cdarray     client data that is a JSON array     cdnull      client data that is JSON null
//	cdundeclared client data with an undeclared property  bigclientdata client data over 64 KiB
//	summary     a summary {"credentials": [...]} (proper from activate and verify)
//	summarydone a summary with the reserved "completedAt"  bigsummary  a summary over 8 KiB
//	unique      unique keys k1, k2 (proper from an accepted activate)
//	uniquedenied a denial with a unique key          manyunique  33 unique keys
//	longunique  a unique key over 128 bytes          emptyunique an empty unique key
//
// It uses sdk.Register with raw handlers, so it can write any bytes. The
// tests build it with sdktest.Build (testdata is outside `./...`).
package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	_ "github.com/gatehouse/gatehouse/sdk/twofactor" // the twofactor exports
)

func init() {
	hooks := []string{abi.HookTwoFactorEnroll, abi.HookTwoFactorActivate, abi.HookTwoFactorChallenge, abi.HookTwoFactorVerify}
	desc := sdk.Info{ID: "twofactor.chaos", Name: "chaos", Version: "0.0.1", Codes: []string{"CHAOS_INVALID"}}.Descriptor(abi.KindTwoFactor, hooks...)
	desc.TwoFactor = &abi.TwoFactorInfo{CodeField: "code", SetupFields: []string{"mode"}, Codes: abi.TwoFactorCodes{TooManySends: "TOO_MANY_CHAOS_MAILS"}, ReplayWindowSeconds: 60,
		ClientDataFields: []string{"publicKey"}}
	handlers := map[string]func(in, out []byte) (abi.Status, []byte){}
	for _, h := range hooks {
		handlers[h] = func(in, out []byte) (abi.Status, []byte) { return handle(h, in, out) }
	}
	sdk.Register(desc, nil, handlers)
}

var png = []byte("\x89PNG\r\n\x1a\nfake")

func handle(hook string, in, out []byte) (abi.Status, []byte) {
	var req abi.TwoFactorRequest
	if err := req.Unmarshal(in); err != nil {
		return abi.StatusBadInput, out
	}
	mode := req.Code
	for i := 0; i+1 < len(req.Params); i += 2 {
		if req.Params[i] == "mode" && mode == "" {
			mode = req.Params[i+1]
		}
	}
	ok := abi.TwoFactorResult{State: []byte("s1"), ReplayKey: "r1", Public: []string{"email", req.Email}}
	switch hook {
	case abi.HookTwoFactorEnroll:
		ok = abi.TwoFactorResult{State: []byte("s0"), Secret: "SECRET", URI: "otpauth://totp/x:y?secret=SECRET", Image: png}
	case abi.HookTwoFactorChallenge:
		ok = abi.TwoFactorResult{State: []byte("s2"), Messages: []abi.Message{{Template: "chaos-challenge", To: req.Email, Vars: []string{"Code", "123456"}}}}
	}
	res, status := ok, abi.StatusOK
	switch mode {
	case "ok":
	case "wrong":
		res, status = abi.TwoFactorResult{Reasons: []abi.Reason{{Code: "CHAOS_INVALID", Message: "Wrong code"}}, State: []byte("tries=1")}, abi.StatusDenied
	case "echo":
		sdk.Log(abi.LevelInfo, "chaos: echo")
		res.Public = []string{"user", req.UserID, "email", req.Email, "service", req.ServiceName, "code", req.Code,
			"params", strings.Join(req.Params, ","), "now", strconv.FormatInt(req.Now, 10), "state", string(req.State),
			"request", req.RequestID}
	case "panic":
		panic("chaos")
	case "exit":
		os.Exit(2)
	case "loop":
		for {
		}
	case "garbage":
		return abi.StatusOK, append(out, 0xff, 0xff, 0xff)
	case "status42":
		return 42, out
	case "badinput":
		return abi.StatusBadInput, out
	case "noreason":
		return abi.StatusDenied, out
	case "undeclared":
		res, status = abi.TwoFactorResult{Reasons: []abi.Reason{{Code: "NOPE", Message: "no"}}}, abi.StatusDenied
	case "okreasons":
		res.Reasons = []abi.Reason{{Code: "CHAOS_INVALID", Message: "Wrong code"}}
	case "bigstate":
		res.State = make([]byte, 64<<10+1)
	case "notpng":
		res.Image = []byte("GIF89a")
	case "nostate":
		res.State = nil
	case "verifymsg", "badtemplate", "pathtemplate", "noto", "oddvars":
		msg := abi.Message{Template: "chaos-x", To: "u@example.com", Vars: []string{"a", "b"}}
		switch mode {
		case "badtemplate":
			msg.Template = "password-reset"
		case "pathtemplate":
			msg.Template = "chaos-x/../../password-reset"
		case "noto":
			msg.To = ""
		case "oddvars":
			msg.Vars = []string{"a"}
		}
		res.Messages = []abi.Message{msg}
	case "bigreplay":
		res.ReplayKey = strings.Repeat("r", 129)
	case "manypublic":
		res.Public = nil
		for i := range 9 {
			res.Public = append(res.Public, "k"+strconv.Itoa(i), "v")
		}
	case "clientdata":
		res.ClientData = []byte(`{"publicKey": {"challenge": "Y2hhb3M", "timeout": 60000}}`)
	case "cdarray":
		res.ClientData = []byte(`[{"publicKey": 1}]`)
	case "cdnull":
		res.ClientData = []byte(`null`)
	case "cdundeclared":
		res.ClientData = []byte(`{"publicKey": {}, "qr": "data:image/png;base64,AAAA"}`)
	case "bigclientdata":
		res.ClientData = []byte(`{"publicKey": "` + strings.Repeat("x", 64<<10) + `"}`)
	case "summary":
		res.Summary = []byte(`{"credentials": [{"name": "laptop"}]}`)
	case "summarydone":
		res.Summary = []byte(`{"credentials": [], "completedAt": 1}`)
	case "bigsummary":
		res.Summary = []byte(`{"credentials": "` + strings.Repeat("x", 8<<10) + `"}`)
	case "unique":
		res.UniqueKeys = []string{"k1", "k2"}
	case "uniquedenied":
		res, status = abi.TwoFactorResult{Reasons: []abi.Reason{{Code: "CHAOS_INVALID", Message: "Wrong code"}}, UniqueKeys: []string{"k1"}}, abi.StatusDenied
	case "manyunique":
		for i := range 33 {
			res.UniqueKeys = append(res.UniqueKeys, "k"+strconv.Itoa(i))
		}
	case "longunique":
		res.UniqueKeys = []string{strings.Repeat("k", 129)}
	case "emptyunique":
		res.UniqueKeys = []string{"k1", ""}
	default:
		res, status = abi.TwoFactorResult{Reasons: []abi.Reason{{Code: "CHAOS_INVALID", Message: "Unknown mode"}}}, abi.StatusDenied
	}
	return status, res.Marshal(out)
}

func main() {}
