package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Imported hashes: accounts brought over from another system keep the hash that system made
// until their owner's next login, which verifies the password at the hash's own parameters and
// replaces it with an argon2id hash at the configured ones, in the login's commit. The formats:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>      PHC, standard base64 without padding
//	$argon2i$v=19$m=65536,t=3,p=4$<salt>$<hash>
//	$2a$10$<22 salt><31 hash>  ($2b$, $2y$ too)      bcrypt (htpasswd -B, PHP, Node)
//	$scrypt$ln=15,r=8,p=1$<salt>$<hash>              PHC/passlib scrypt (N = 2^ln)
//	$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>       PHC PBKDF2-HMAC-SHA256
//	$pbkdf2-sha256$29000$<salt>$<hash>               passlib (its base64 writes '.' for '+')
//
// Parameters are bounded so an imported hash cannot make a login take minutes or gigabytes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 64
	maxBcryptCost   = 16
	maxScryptLogN   = 20
	maxScryptMemory = 1 << 30 // bytes: 128·N·r
	maxScryptP      = 16
	maxPBKDF2Iter   = 10_000_000
	minKeyLen       = 16
	maxKeyLen       = 128
	minSaltLen      = 8
	maxSaltLen      = 128
)

// ErrUnsupportedHash is returned for a hash of no supported format, or parameters out of bounds.
var ErrUnsupportedHash = errors.New("password: unsupported or malformed password hash")

// verifier checks passwords against one parsed stored hash.
type verifier interface {
	// check reports whether password matches.
	check(password string) bool
	// argon2id returns the parameters when the hash is argon2id (false otherwise).
	argon2id() (Params, bool)
}

// parseStored reads any supported stored hash.
func parseStored(s string) (verifier, error) {
	switch {
	case strings.HasPrefix(s, "$argon2id$"), strings.HasPrefix(s, "$argon2i$"):
		return parseArgon2(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s)
	case strings.HasPrefix(s, "$pbkdf2-sha256$"):
		return parsePBKDF2(s)
	}
	return nil, ErrUnsupportedHash
}

// CheckImported reports whether s is a stored hash Gatehouse can verify (nil) or not.
func CheckImported(s string) error {
	_, err := parseStored(s)
	return err
}

// Scheme names the format of a stored hash ("argon2id", "bcrypt", ...), "" when unknown.
func Scheme(s string) string {
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return "argon2id"
	case strings.HasPrefix(s, "$argon2i$"):
		return "argon2i"
	case strings.HasPrefix(s, "$2"):
		return "bcrypt"
	case strings.HasPrefix(s, "$scrypt$"):
		return "scrypt"
	case strings.HasPrefix(s, "$pbkdf2-sha256$"):
		return "pbkdf2-sha256"
	}
	return ""
}

// phcParams splits "a=1,b=2" into its values; every key must be in want, none twice.
func phcParams(s string, want ...string) (map[string]uint64, bool) {
	out := map[string]uint64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || out[k] != 0 || !contains(want, k) {
			return nil, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return nil, false
		}
		out[k] = n
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decodeB64 reads standard base64 with or without padding, or passlib's variant ('.' for '+').
func decodeB64(s string) ([]byte, bool) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

func goodLen(salt, key []byte) bool {
	return len(salt) >= minSaltLen && len(salt) <= maxSaltLen && len(key) >= minKeyLen && len(key) <= maxKeyLen
}

type argon2Hash struct {
	id        bool
	p         Params
	salt, key []byte
}

func parseArgon2(s string) (verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[2] != "v=19" {
		return nil, ErrUnsupportedHash
	}
	params, ok := phcParams(parts[3], "m", "t", "p")
	if !ok || len(params) != 3 || params["p"] > 255 || params["m"] < 8*params["p"] || params["m"] > maxArgonMemory || params["t"] > maxArgonTime {
		return nil, ErrUnsupportedHash
	}
	salt, ok1 := decodeB64(parts[4])
	key, ok2 := decodeB64(parts[5])
	if !ok1 || !ok2 || !goodLen(salt, key) {
		return nil, ErrUnsupportedHash
	}
	h := &argon2Hash{id: parts[1] == "argon2id", salt: salt, key: key,
		p: Params{Memory: uint32(params["m"]), Time: uint32(params["t"]), Threads: uint8(params["p"])}}
	return h, nil
}

func (h *argon2Hash) check(password string) bool {
	var got []byte
	if h.id {
		got = argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	} else {
		got = argon2.Key([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h *argon2Hash) argon2id() (Params, bool) {
	return h.p, h.id && len(h.salt) == saltLen && len(h.key) == keyLen
}

type bcryptHash struct{ hash []byte }

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func parseBcrypt(s string) (verifier, error) {
	// $2y$10$ + 53 characters: 22 of salt, 31 of hash.
	if len(s) != 60 || s[3] != '$' || s[6] != '$' {
		return nil, ErrUnsupportedHash
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, ErrUnsupportedHash
	}
	for _, c := range s[7:] {
		if !strings.ContainsRune(bcryptAlphabet, c) {
			return nil, ErrUnsupportedHash
		}
	}
	// $2y$ (PHP) and $2b$ are the same algorithm as $2a$ for every password Go can hash.
	return &bcryptHash{hash: []byte("$2a" + s[3:])}, nil
}

func (h *bcryptHash) check(password string) bool {
	return bcrypt.CompareHashAndPassword(h.hash, []byte(password)) == nil
}

func (h *bcryptHash) argon2id() (Params, bool) { return Params{}, false }

type scryptHash struct {
	logN, r, p int
	salt, key  []byte
}

func parseScrypt(s string) (verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, ErrUnsupportedHash
	}
	params, ok := phcParams(parts[2], "ln", "r", "p")
	if !ok || len(params) != 3 || params["ln"] > maxScryptLogN || params["p"] > maxScryptP ||
		128*(uint64(1)<<params["ln"])*params["r"] > maxScryptMemory {
		return nil, ErrUnsupportedHash
	}
	salt, ok1 := decodeB64(parts[3])
	key, ok2 := decodeB64(parts[4])
	if !ok1 || !ok2 || !goodLen(salt, key) {
		return nil, ErrUnsupportedHash
	}
	return &scryptHash{logN: int(params["ln"]), r: int(params["r"]), p: int(params["p"]), salt: salt, key: key}, nil
}

func (h *scryptHash) check(password string) bool {
	got, err := scrypt.Key([]byte(password), h.salt, 1<<h.logN, h.r, h.p, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h *scryptHash) argon2id() (Params, bool) { return Params{}, false }

type pbkdf2Hash struct {
	iter      int
	salt, key []byte
}

func parsePBKDF2(s string) (verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, ErrUnsupportedHash
	}
	var iter uint64
	wantLen := uint64(0)
	if n, err := strconv.ParseUint(parts[2], 10, 32); err == nil {
		iter = n // passlib: the rounds alone
	} else {
		params, ok := phcParams(parts[2], "i", "l")
		if !ok || params["i"] == 0 {
			return nil, ErrUnsupportedHash
		}
		iter, wantLen = params["i"], params["l"]
	}
	if iter == 0 || iter > maxPBKDF2Iter {
		return nil, ErrUnsupportedHash
	}
	salt, ok1 := decodeB64(parts[3])
	key, ok2 := decodeB64(parts[4])
	if !ok1 || !ok2 || !goodLen(salt, key) || (wantLen != 0 && wantLen != uint64(len(key))) {
		return nil, ErrUnsupportedHash
	}
	return &pbkdf2Hash{iter: int(iter), salt: salt, key: key}, nil
}

func (h *pbkdf2Hash) check(password string) bool {
	got, err := pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h *pbkdf2Hash) argon2id() (Params, bool) { return Params{}, false }
