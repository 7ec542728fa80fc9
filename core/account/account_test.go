package account

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestValidEmail(t *testing.T) {
	tests := []struct {
		email string
		want  bool
	}{
		{"ada@example.com", true},
		{"Ada.Lovelace+tag@sub.example.co.uk", true},
		{"ada@example", false},
		{"ada@@example.com", false},
		{"ada example@x.com", false},
		{"", false},
		{"a@" + string(make([]byte, 300)), false},
		{"\u212Aate@example.com", false}, // Kelvin sign, folds to k under Unicode rules
		{"ro\u017Fe@example.com", false}, // long s, folds to s
		{"kate@exa\u212Ample.com", false},
		{"KATE@EXAMPLE.COM", true},
	}
	for _, tt := range tests {
		if got := ValidEmail(tt.email); got != tt.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"ada@example.com", "ada@example.com"},
		{"\u212Aate@example.com", "\u212Aate@example.com"}, // never the index entry of kate@
		{"ro\u017Fe@example.com", "ro\u017Fe@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCreateAndChangeEmail(t *testing.T) {
	st := storetest.Open(t)
	err := st.Update(func(txn store.Txn) error {
		if err := Create(txn, Account{ID: 1, Email: "Ada@Example.com"}); err != nil {
			return err
		}
		return Create(txn, Account{ID: 2, Email: "bob@example.com"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(txn store.Txn) error { return Create(txn, Account{ID: 3, Email: "ADA@example.COM"}) })
	if fe, ok := failure.As(err); !ok || fe.Code != failure.CodeEmailAlreadyInUse {
		t.Fatalf("duplicate, case-insensitively: %v", err)
	}
	err = st.Update(func(txn store.Txn) error {
		a, err := ByEmail(txn, "ada@example.com")
		if err != nil {
			return err
		}
		_, err = ChangeEmail(txn, a, "BOB@example.com", "NEW_EMAIL_ALREADY_IN_USE")
		return err
	})
	if fe, ok := failure.As(err); !ok || fe.Code != "NEW_EMAIL_ALREADY_IN_USE" {
		t.Fatalf("moving onto a taken address: %v", err)
	}
	err = st.Update(func(txn store.Txn) error {
		a, _ := ByEmail(txn, "ada@example.com")
		_, err := ChangeEmail(txn, a, "ada@new.example", "NEW_EMAIL_ALREADY_IN_USE")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st.View(func(txn store.Txn) error {
		if _, err := ByEmail(txn, "ada@example.com"); err != ErrNotFound {
			t.Errorf("the old address still finds the account: %v", err)
		}
		if a, err := ByEmail(txn, "ADA@new.example"); err != nil || a.ID != 1 {
			t.Errorf("the new address: %v %v", a, err)
		}
		return nil
	})
}
