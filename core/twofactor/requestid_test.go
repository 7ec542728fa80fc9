package twofactor

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/core/reqctx"
)

// recordingTOTP is NativeTOTP recording the request id of each call.
type recordingTOTP struct {
	NativeTOTP
	mu  *sync.Mutex
	ids *[]string
}

func (r recordingTOTP) record(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.ids = append(*r.ids, req.RequestID)
}

func (r recordingTOTP) Enroll(ctx context.Context, req Request) (Result, error) {
	r.record(req)
	return r.NativeTOTP.Enroll(ctx, req)
}

func (r recordingTOTP) Activate(ctx context.Context, req Request) (Result, error) {
	r.record(req)
	return r.NativeTOTP.Activate(ctx, req)
}

// TestRequestIDReachesMethod: the request's id (reqctx) is the RequestID of every hook call,
// and the setup answer shows the secret.
func TestRequestIDReachesMethod(t *testing.T) {
	f := newFixture(t)
	var ids []string
	if err := f.svc.Replace(recordingTOTP{mu: &sync.Mutex{}, ids: &ids}); err != nil {
		t.Fatal(err)
	}
	ctx := reqctx.With(context.Background(), reqctx.Info{RequestID: "req-7"})
	res, err := f.svc.Setup(ctx, f.user, "totp", nil, MailContext{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Secret == "" || otpauthSecret(res.URL) != res.Secret {
		t.Fatalf("setup secret %q is not the URL's: %s", res.Secret, res.URL)
	}
	ctx = reqctx.With(context.Background(), reqctx.Info{RequestID: "req-8"})
	if _, err := f.svc.Enable(ctx, f.user, "totp", f.code(t, res.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != "req-7" || ids[1] != "req-8" {
		t.Fatalf("request ids seen by the method: %q", ids)
	}
}
