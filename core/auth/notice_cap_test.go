package auth

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// At most NoticePolicy.PerDay notices of one kind go to one address a day; the change that
// would have sent one more is not refused, and another kind or another address still gets its
// own, as does the same one the next day.
func TestNoticesCappedPerAddressAndKind(t *testing.T) {
	f := newAuthFixture(t)
	notify := func(event, to string) {
		t.Helper()
		if err := f.svc.Store.Update(func(txn store.Txn) error {
			return f.svc.NotifyAddress(context.Background(), txn, event, to, nil)
		}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(event, to string) int {
		n := 0
		for _, m := range f.mail.queued {
			if m.To == to && m.Purpose == NoticePurpose(event) {
				n++
			}
		}
		return n
	}
	for range NoticePolicy.PerDay + 5 {
		notify(NoticePasswordChanged, "a@example.com")
	}
	if got := count(NoticePasswordChanged, "a@example.com"); got != NoticePolicy.PerDay {
		t.Fatalf("%d password notices queued, want the cap %d", got, NoticePolicy.PerDay)
	}
	notify(NoticeTwoFactorEnabled, "a@example.com")
	notify(NoticePasswordChanged, "b@example.com")
	if count(NoticeTwoFactorEnabled, "a@example.com") != 1 || count(NoticePasswordChanged, "b@example.com") != 1 {
		t.Fatalf("another kind or address was capped too: %v", f.mail.queued)
	}
	f.now = f.now.Add(25 * time.Hour)
	notify(NoticePasswordChanged, "a@example.com")
	if got := count(NoticePasswordChanged, "a@example.com"); got != NoticePolicy.PerDay+1 {
		t.Fatalf("the next day: %d, want %d", got, NoticePolicy.PerDay+1)
	}
}
