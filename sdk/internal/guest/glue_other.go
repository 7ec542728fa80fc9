//go:build !wasip1

package guest

import (
	"log"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Log writes a line to the standard logger (natively, in tests).
func Log(level abi.Level, msg string) {
	if level >= abi.LevelInfo {
		log.Printf("plugin: %s", msg)
	}
}

// LogEnabled reports info and above as enabled (natively, in tests).
func LogEnabled(level abi.Level) bool { return level >= abi.LevelInfo }
