package totp

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// reference is pquerna/otp's HOTP, the independent implementation the codes
// are checked against.
func reference(t *testing.T, secret string, step uint64) (string, bool) {
	t.Helper()
	c, err := hotp.GenerateCodeCustom(secret, step, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return c, err == nil
}

// RFC 4226 appendix D: the secret "12345678901234567890", counters 0 to 9.
func TestHOTPRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		var code [Digits]byte
		HOTP(code[:], []byte("12345678901234567890"), uint64(i))
		if string(code[:]) != w {
			t.Errorf("counter %d: %s, want %s", i, code, w)
		}
	}
}

// Many secrets (random, and the spellings apps and pquerna accept) and steps:
// every code is pquerna's, and Match accepts exactly the codes of the window
// with the step as the key.
func TestAgainstPquerna(t *testing.T) {
	var secrets []string
	for i := 0; i < 200; i++ {
		raw := make([]byte, 10+i%30)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		s := b32.EncodeToString(raw)
		switch i % 4 {
		case 1:
			s = strings.ToLower(s)
		case 2:
			s = base32.StdEncoding.EncodeToString(raw) // padded
		case 3:
			s = " " + s + "\n"
		}
		secrets = append(secrets, s)
	}
	steps := []uint64{0, 1, 2, 59_999_999, 60_000_000, 1 << 32, 1<<63 + 5, ^uint64(0) - 1}
	for i := 0; i < 50; i++ {
		steps = append(steps, 50_000_000+uint64(i)*7919)
	}
	for _, secret := range secrets {
		key, ok := decodeSecret(secret)
		if !ok {
			t.Fatalf("secret %q not decoded", secret)
		}
		for _, step := range steps {
			want, ok := reference(t, secret, step)
			if !ok {
				t.Fatalf("pquerna refuses %q", secret)
			}
			var code [Digits]byte
			HOTP(code[:], key, step)
			if string(code[:]) != want {
				t.Fatalf("secret %q step %d: %s, pquerna %s", secret, step, code, want)
			}
		}
		now := time.Unix(1_800_000_015, 0)
		current := uint64(now.Unix()) / Period
		for step := current - 3; step <= current+3; step++ {
			c, _ := reference(t, secret, step)
			got, ok := Match(secret, c, now)
			inWindow := step+Skew >= current && step <= current+Skew
			if inWindow && (!ok || got != step) {
				t.Fatalf("secret %q: the code of step %d (current %d): %d %v", secret, step, current, got, ok)
			}
			if !inWindow && ok {
				// A code outside the window may equal one inside by chance.
				if w, _ := reference(t, secret, got); w != c || got+Skew < current || got > current+Skew {
					t.Fatalf("secret %q: the code of step %d matched step %d", secret, step, got)
				}
			}
		}
	}
}

// Secrets pquerna refuses match nothing; wrong lengths match nothing.
func TestMatchRefuses(t *testing.T) {
	now := time.Unix(1_800_000_015, 0)
	for _, secret := range []string{"", "1", "ABC!DEFG", "A", "ABCDEFGHA"} {
		_, pq := reference(t, secret, 0)
		_, ok := decodeSecret(secret)
		if ok != pq {
			t.Errorf("secret %q: decoded %v, pquerna %v", secret, ok, pq)
		}
		if !ok {
			if _, m := Match(secret, "123456", now); m {
				t.Errorf("secret %q matched", secret)
			}
		}
	}
	const secret = "JBSWY3DPEHPK3PXP"
	c, _ := reference(t, secret, uint64(now.Unix())/Period)
	for _, code := range []string{"", c[:5], c + "0", "00000a"} {
		if _, ok := Match(secret, code, now); ok {
			t.Errorf("code %q matched", code)
		}
	}
}
