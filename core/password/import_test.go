package password

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Known vectors, each made by another implementation: the Argon2 reference implementation's
// test suite and README (argon2id, argon2i), Openwall's crypt_blowfish test vectors (bcrypt),
// Python's hashlib on OpenSSL (scrypt, PBKDF2; the passlib form writes '.' for '+').
var importVectors = []struct {
	name, hash, password string
}{
	{"argon2id reference", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
	{"argon2i reference", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "password"},
	{"bcrypt 2a", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 2a longer", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
	{"bcrypt 2a other salt", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
	{"bcrypt 2b", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 2y", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 72 bytes", "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"},
	{"scrypt PHC", "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0MTIzNA$4arrjyS1vmidCi86mesWdXYp+ysep8sjVaAdL+3pkDc", "correct horse"},
	{"pbkdf2-sha256 PHC", "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHRzYWx0MTIzNA$ahMWkjmrPp5MHfyOmVaGML41Q2rjDaN7l9gO6WPQde0", "correct horse"},
	{"pbkdf2-sha256 passlib", "$pbkdf2-sha256$29000$c2FsdHNhbHRzYWx0MTIzNA$G4r08gDYYblyXHK2tJy0BhwEat3.P9uqtF87X43ZN74", "password"},
}

func TestImportedHashesVerify(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 2, time.Second)
	ctx := context.Background()
	for _, v := range importVectors {
		t.Run(v.name, func(t *testing.T) {
			if err := CheckImported(v.hash); err != nil {
				t.Fatalf("CheckImported: %v", err)
			}
			match, rehash, err := h.Verify(ctx, v.password, v.hash)
			if err != nil || !match || !rehash {
				t.Fatalf("right password: match %v rehash %v err %v", match, rehash, err)
			}
			match, rehash, err = h.Verify(ctx, "x"+v.password, v.hash)
			if err != nil || match || rehash {
				t.Fatalf("wrong password: match %v rehash %v err %v", match, rehash, err)
			}
		})
	}
}

func TestCurrentArgon2idNeedsNoRehash(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 2, time.Second)
	ctx := context.Background()
	stored, err := h.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	match, rehash, err := h.Verify(ctx, "secret", stored)
	if err != nil || !match || rehash {
		t.Fatalf("match %v rehash %v err %v", match, rehash, err)
	}
}

func TestUnsupportedHashes(t *testing.T) {
	for _, bad := range []string{
		"",
		"plain",
		"$1$abcdefgh$abcdefghijklmnopqrstuv", // md5-crypt
		"$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",    // argon2d
		"$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",   // old version
		"$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", // 4 GiB
		"$argon2id$v=19$m=65536,t=2,p=1,p=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFh",              // key too short
		"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", // cost out of bounds
		"$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", // below the minimum
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",  // short
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!", // outside the alphabet
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", // the buggy variant
		"$scrypt$ln=25,r=8,p=1$c2FsdHNhbHRzYWx0MTIzNA$4arrjyS1vmidCi86mesWdXYp+ysep8sjVaAdL+3pkDc",
		"$scrypt$ln=14,r=8$c2FsdHNhbHRzYWx0MTIzNA$4arrjyS1vmidCi86mesWdXYp+ysep8sjVaAdL+3pkDc",
		"$pbkdf2-sha256$0$c2FsdHNhbHRzYWx0MTIzNA$G4r08gDYYblyXHK2tJy0BhwEat3.P9uqtF87X43ZN74",
		"$pbkdf2-sha256$i=600000,l=16$c2FsdHNhbHRzYWx0MTIzNA$ahMWkjmrPp5MHfyOmVaGML41Q2rjDaN7l9gO6WPQde0", // l disagrees
		"$pbkdf2-sha256$99999999$c2FsdHNhbHRzYWx0MTIzNA$G4r08gDYYblyXHK2tJy0BhwEat3.P9uqtF87X43ZN74",
		"$pbkdf2-sha1$29000$c2FsdHNhbHRzYWx0MTIzNA$G4r08gDYYblyXHK2tJy0BhwEat3.P9uqtF87X43ZN74",
	} {
		if err := CheckImported(bad); err == nil {
			t.Errorf("CheckImported(%q) accepted", bad)
		}
	}
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 2, time.Second)
	if _, _, err := h.Verify(context.Background(), "x", "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"); err != ErrMalformedHash {
		t.Fatalf("Verify of an unsupported hash: %v", err)
	}
}

func TestScheme(t *testing.T) {
	for _, v := range importVectors {
		want := strings.Fields(v.name)[0]
		if got := Scheme(v.hash); got != want {
			t.Errorf("Scheme(%s) = %q, want %q", v.name, got, want)
		}
	}
}

// FuzzParseStored feeds arbitrary strings to the parsers of every format: none may panic, and
// whatever parses must verify (a wrong password, quickly: the fuzzer keeps the costs small by
// the bounds only, so verification is skipped above a small cost).
func FuzzParseStored(f *testing.F) {
	for _, v := range importVectors {
		f.Add(v.hash)
	}
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRzYWx0MTIzNA$4arrjyS1vmidCi86mesWdXYp+ysep8sjVaAdL+3pkDc")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseStored(s)
		if err != nil {
			return
		}
		if Scheme(s) == "" {
			t.Fatalf("parsed %q but Scheme does not name it", s)
		}
		if cheap(v) {
			_ = v.check("fuzz")
		}
	})
}

// cheap reports whether checking v costs little enough for a fuzz iteration.
func cheap(v verifier) bool {
	switch h := v.(type) {
	case *argon2Hash:
		return h.p.Memory <= 1024 && h.p.Time <= 2
	case *bcryptHash:
		return string(h.hash[4:6]) <= "06"
	case *scryptHash:
		return h.logN <= 8 && h.r <= 8 && h.p <= 2
	case *pbkdf2Hash:
		return h.iter <= 10000
	}
	return false
}
