package auth

import (
	"errors"

	"github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/store"
)

// PendingTransferAddress returns the new address of userID's pending email transfer, "" when
// there is none (what a deletion must also drop the queued mail of).
func PendingTransferAddress(txn store.Txn, userID uint64) (string, error) {
	rec, err := otp.Get(txn, transferKey(userID))
	if errors.Is(err, otp.ErrNone) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return rec.Data["newEmail"], nil
}

// DeletePendingCodes removes userID's pending mailed codes (a password reset, an address
// transfer): for the deletion of the account.
func DeletePendingCodes(txn store.Txn, userID uint64) error {
	return endPendingCodes(txn, userID)
}
