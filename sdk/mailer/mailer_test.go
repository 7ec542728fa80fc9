package mailer

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

type toy struct{}

func (toy) Deliver(req *Request) error {
	switch req.To[0] {
	case "bad@example.com":
		return &PermanentError{Reasons: []sdk.Reason{{Code: "MAIL_REJECTED", Message: "rejected"}}}
	case "later@example.com":
		return errors.New("connection refused")
	}
	return nil
}

func TestDeliver(t *testing.T) {
	guest.Reset()
	defer guest.Reset()
	Register(sdk.Info{ID: "mailer.toy", Name: "toy", Version: "1", Codes: []string{"MAIL_REJECTED"}}, toy{})
	tests := []struct {
		to     string
		status abi.Status
	}{
		{"ok@example.com", abi.StatusOK},
		{"bad@example.com", abi.StatusDenied},
		{"later@example.com", abi.StatusRetry},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			in := (&abi.DeliverRequest{MessageID: "m1", From: "a@example.com", To: []string{tt.to}, Subject: "s", Text: "t"}).Marshal(nil)
			if status, _ := guest.Dispatch(abi.HookMailerDeliver, in, nil); status != tt.status {
				t.Fatalf("status %v, want %v", status, tt.status)
			}
		})
	}
}
