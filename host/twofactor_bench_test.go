package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins/totp/totp"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// BenchmarkTOTPVerify compares one TOTP verify through the host (encode,
// pool, deadline, the plugin's Go code under wazero with back-edge deadline
// checks, decode and output checks) with the same method's Go code called
// natively, in the same run: x-native is wasm ns / native ns. Half the codes
// are right (three HMACs and a replay key), half wrong (three HMACs and a
// denial).
//
//	go test -run '^$' -bench TOTPVerify -benchtime 2s ./host/
func BenchmarkTOTPVerify(b *testing.B) {
	h := newHost(b, host.Config{CallTimeout: time.Second, Grants: totpGrants})
	mustLoad(b, h, "totp", totpWasm(b))
	m := twoFactor(b, h, "twofactor.totp")
	ctx := context.Background()
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	now := time.Unix(1_800_000_015, 0)
	right, err := hotp.GenerateCodeCustom(secret, uint64(now.Unix())/30, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		b.Fatal(err)
	}
	wrong := "000000"
	if right == wrong {
		wrong = "000001"
	}
	codes := [2]string{right, wrong}
	native := func(i int) bool {
		res, err := totp.Method{}.Verify(&twofactor.Request{Now: now, UserID: "7", State: []byte(secret), Code: codes[i&1]})
		if err != nil {
			b.Fatal(err)
		}
		return len(res.Reasons) == 0
	}
	wasm := func(i int) bool {
		_, accepted, err := m.Call(ctx, abi.HookTwoFactorVerify, abi.TwoFactorRequest{Now: now.UnixNano(), UserID: "7", State: []byte(secret), Code: codes[i&1]})
		if err != nil {
			b.Fatal(err)
		}
		return accepted
	}
	if !native(0) || native(1) || !wasm(0) || wasm(1) {
		b.Fatal("the right code is refused or the wrong one accepted")
	}
	b.Run("ratio", func(b *testing.B) {
		accepted := 0
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if native(i) {
				accepted++
			}
		}
		nativeNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		start = time.Now()
		for i := 0; i < b.N; i++ {
			if wasm(i) {
				accepted++
			}
		}
		wasmNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		b.ReportMetric(nativeNs, "native-ns/op")
		b.ReportMetric(wasmNs, "wasm-ns/op")
		b.ReportMetric(wasmNs/nativeNs, "x-native")
		if accepted != (b.N+1)/2*2 {
			b.Fatalf("%d accepted of %d", accepted, 2*b.N)
		}
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			native(i)
		}
	})
	b.Run("wasm", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			wasm(i)
		}
	})
}
