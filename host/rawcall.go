package host

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// CallRaw calls an export of the loaded plugin id with input exactly as
// given, for conformance kits (`gatehouse plugin test`) that check how a
// plugin answers input the host itself never sends, such as bytes that do
// not decode. export is abi.ExportConfigure or the export of a hook the
// plugin declares (abi.HookExport(hook)). It returns the status and a copy of
// the output as the plugin left them, without any of the checks a typed call
// makes, and an error for a trap, the deadline or the memory limit. The
// instance is discarded afterwards, so the plugin's other calls never see
// what the raw call did to it.
func (h *Host) CallRaw(ctx context.Context, id, export string, input []byte) (abi.Status, []byte, error) {
	p, err := h.get(id, "")
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.host.cfg.CallTimeout)
	defer cancel()
	inst, err := p.pool.get(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: no instance: %w", p.name(), err)
	}
	defer p.pool.put(inst, true)
	status, out, err := inst.invoke(ctx, export, input)
	if err != nil {
		return 0, nil, p.classify(ctx, inst, export, err)
	}
	return status, bytes.Clone(out), nil
}
