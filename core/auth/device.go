package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/limit"
)

// Device tokens keep the login lockout from being turned against an account's owner (OWASP's
// device-cookie pattern; NIST SP 800-63B 5.2.2 on lockout as a denial of service). A successful
// login hands the client a device token: signed for that account, long-lived. A later login to
// the same account that presents it has its wrong passwords counted on a (user, device)
// counter of its own, so a stranger's failures against the account (counted on the account's
// counter, as every login without a valid device token is) do not throttle the owner's known
// device, and a stolen device token throttles only itself.
//
// A device token is <user id>.<issued, Unix seconds>.<device id>.<MAC>: the device id is 16
// random bytes, the MAC is HMAC-SHA256 under a key of that user's own, derived from DeviceKey
// (from the master key), over the other parts. It holds no secret of the account and opens no
// session: it only selects which guess counter a login is counted on.

// DeviceLifetime is how long a device token is accepted after it was issued; each successful
// login with it issues a new one.
const DeviceLifetime = 365 * 24 * time.Hour

// maxDeviceToken is the longest device token looked at.
const maxDeviceToken = 256

const deviceMACLabel = "gatehouse device token v1\x00"

// deviceUserKey is the MAC key of userID's device tokens.
func (s *Service) deviceUserKey(userID uint64) []byte {
	m := hmac.New(sha256.New, s.DeviceKey)
	m.Write([]byte("device tokens of user " + strconv.FormatUint(userID, 10)))
	return m.Sum(nil)
}

func (s *Service) deviceMAC(userID uint64, body string) string {
	m := hmac.New(sha256.New, s.deviceUserKey(userID))
	m.Write([]byte(deviceMACLabel + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewDeviceToken issues a device token for userID, now.
func (s *Service) NewDeviceToken(userID uint64) string {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	body := strconv.FormatUint(userID, 10) + "." + strconv.FormatInt(s.Now().Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(id[:])
	return body + "." + s.deviceMAC(userID, body)
}

// deviceID returns the device id of tok when tok is a device token of userID, issued by this
// deployment and in date; ok is false otherwise (absent, malformed, forged, another account's,
// expired), and then the login is counted on the account's counter.
func (s *Service) deviceID(tok string, userID uint64) (id string, ok bool) {
	if tok == "" || len(tok) > maxDeviceToken || len(s.DeviceKey) == 0 {
		return "", false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != strconv.FormatUint(userID, 10) {
		return "", false
	}
	body := parts[0] + "." + parts[1] + "." + parts[2]
	if !hmac.Equal([]byte(parts[3]), []byte(s.deviceMAC(userID, body))) {
		return "", false
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", false
	}
	at := time.Unix(issued, 0)
	if now := s.Now(); at.After(now.Add(time.Minute)) || !now.Before(at.Add(DeviceLifetime)) {
		return "", false
	}
	return parts[2], true
}

// loginSubject is the guess counter of a login to the account userID presenting device: the
// (user, device) counter for a valid device token of that account, else the account's.
func (s *Service) loginSubject(userID uint64, device string) limit.Subject {
	if id, ok := s.deviceID(device, userID); ok {
		return limit.Subject{Key: "d/" + strconv.FormatUint(userID, 10) + "/" + id, Known: true}
	}
	return userSubject(userID)
}
