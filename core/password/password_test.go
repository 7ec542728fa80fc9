package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fast, 2, time.Second)
	ctx := context.Background()
	stored, err := h.Hash(ctx, "Correct1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected PHC string %q", stored)
	}
	upgraded := NewHasher(Params{Memory: 128, Time: 1, Threads: 1}, 2, time.Second)
	tests := []struct {
		name       string
		hasher     *Hasher
		password   string
		stored     string
		wantMatch  bool
		wantRehash bool
		wantErr    error
	}{
		{"right password", h, "Correct1", stored, true, false, nil},
		{"wrong password", h, "Correct2", stored, false, false, nil},
		{"unknown account never matches", h, "", "", false, false, nil},
		{"older parameters ask for a rehash", upgraded, "Correct1", stored, true, true, nil},
		{"no rehash on a wrong password", upgraded, "nope", stored, false, false, nil},
		{"malformed hash", h, "x", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", false, false, ErrMalformedHash},
		{"bad base64", h, "x", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", false, false, ErrMalformedHash},
		{"zero threads", h, "x", "$argon2id$v=19$m=64,t=1,p=0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", false, false, ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			match, rehash, err := tt.hasher.Verify(ctx, tt.password, tt.stored)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if match != tt.wantMatch || rehash != tt.wantRehash {
				t.Fatalf("match, rehash = %v, %v; want %v, %v", match, rehash, tt.wantMatch, tt.wantRehash)
			}
		})
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	h := NewHasher(fast, 1, 20*time.Millisecond)
	h.slots <- struct{}{} // the only slot is taken
	if _, err := h.Hash(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

type refuseAll struct{ called *int }

func (r refuseAll) Check(context.Context, Candidate) (Verdict, error) {
	*r.called++
	return Verdict{Reasons: []string{"no"}}, nil
}

func TestChainStopsAtFirstRefusal(t *testing.T) {
	var first, second int
	v, err := Chain{refuseAll{&first}, refuseAll{&second}}.Check(context.Background(), Candidate{})
	if err != nil || v.Accepted || first != 1 || second != 0 {
		t.Fatalf("v=%+v err=%v first=%d second=%d", v, err, first, second)
	}
	if _, err := (Chain{}).Check(context.Background(), Candidate{}); err == nil {
		t.Fatal("an empty chain must fail closed")
	}
}

// TestOlderHashIsPaddedToCurrentCost: after the cost is raised, an account whose hash has the
// older, cheaper parameters must not answer faster than an unknown name, which is verified
// against the dummy hash at the current cost. (A lower bound only: a busy machine makes every
// verification slower, never this one faster than the padding.)
func TestOlderHashIsPaddedToCurrentCost(t *testing.T) {
	ctx := context.Background()
	stored, err := NewHasher(fast, 2, time.Second).Hash(ctx, "Correct1")
	if err != nil {
		t.Fatal(err)
	}
	raised := NewHasher(Params{Memory: 128, Time: 2, Threads: 1}, 2, time.Second)
	const cost = 150 * time.Millisecond
	raised.currentCost.Store(int64(cost))
	for _, pw := range []string{"Correct1", "wrong"} {
		start := time.Now()
		if _, _, err := raised.Verify(ctx, pw, stored); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < cost {
			t.Fatalf("verifying an older hash took %v, less than the current cost %v", took, cost)
		}
	}
	// Before any measurement, the padding is a real verification at the current cost, which
	// records the cost.
	fresh := NewHasher(Params{Memory: 128, Time: 2, Threads: 1}, 2, time.Second)
	if _, _, err := fresh.Verify(ctx, "Correct1", stored); err != nil {
		t.Fatal(err)
	}
	if fresh.currentCost.Load() == 0 {
		t.Fatal("the current cost was not measured")
	}
}
