package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// outboxName is what a message id may be: it names a file in the folder.
var outboxName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

func (p *plugin) outboxWrite(ctx context.Context, req []byte) []byte {
	var m abi.OutboxWrite
	if err := m.Unmarshal(req); err != nil {
		panic(undecodable(abi.FuncOutboxWrite, err))
	}
	dir := p.host.cfg.OutboxDir
	var r abi.Reply
	switch {
	case !outboxName.MatchString(m.MessageID):
		r = abi.Reply{Outcome: abi.OutcomePermanent, Error: fmt.Sprintf("outbox: bad message id %q (want 1 to 128 of [A-Za-z0-9._-], not starting with a dot)", truncate(m.MessageID, 200))}
	case dir == "":
		r = abi.Reply{Outcome: abi.OutcomeTemporary, Error: "outbox: no outbox folder configured"}
	default:
		path, err := writeFileAtomic(dir, m.MessageID+".eml", m.Data)
		if err != nil {
			r = abi.Reply{Outcome: abi.OutcomeTemporary, Error: "outbox: " + err.Error()}
			p.log.Warn("outbox: message not written", "error", err)
			break
		}
		p.log.Info("mail written to the outbox folder", "file", path)
	}
	return r.Marshal(nil)
}

// writeFileAtomic writes dir/name so that a reader sees the old file or the
// whole new one, and the new one survives a crash once it returns: a
// temporary file, synced, renamed over name, then the folder synced. The
// folder is made 0700 if missing (mail holds codes).
func writeFileAtomic(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	final := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return final, nil
}
