package proxy

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// detachable reads from r until Detach; afterwards every Read fails. The
// fasthttp adapter hands the upstream request a detachable over the
// RequestCtx's body, so that nothing reads the RequestCtx once the handler
// has returned (the upstream client may still be sending the body when the
// answer's header arrives).
type detachable struct {
	mu sync.Mutex
	r  io.Reader // nil once detached
}

func (d *detachable) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r == nil {
		return 0, errDetached
	}
	return d.r.Read(p)
}

// Detach waits for a Read in progress, then cuts the reader off.
func (d *detachable) Detach() {
	d.mu.Lock()
	d.r = nil
	d.mu.Unlock()
}

// answerBody is the upstream answer's body as the adapters stream it: an
// upstream silent for longer than idle (while a Read waits) cancels the
// exchange, and Close cancels it too, releasing the connection.
type answerBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	idle   time.Duration
	timer  *time.Timer
	idled  atomic.Bool
	once   sync.Once
}

func newAnswerBody(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration) *answerBody {
	b := &answerBody{rc: rc, cancel: cancel, idle: idle}
	b.timer = time.AfterFunc(time.Hour, func() { b.idled.Store(true); cancel() })
	b.timer.Stop()
	return b
}

func (b *answerBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.idled.Load() {
		err = errUpstreamIdle
	}
	return n, err
}

func (b *answerBody) Close() error {
	var err error
	b.once.Do(func() {
		b.timer.Stop()
		err = b.rc.Close()
		b.cancel()
	})
	return err
}
