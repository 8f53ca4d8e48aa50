package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestFromClassifiesWrappedCauses(t *testing.T) {
	cause := errors.New("nonce: bad MAC on key n1")
	err := fmt.Errorf("attest: %w", Wrap(ErrNonceInvalid, cause))
	got := From(err)
	if got.Code != NonceInvalid || got.Status != 401 {
		t.Fatalf("From = %+v", got)
	}
	if !errors.Is(err, cause) || !errors.Is(err, ErrNonceInvalid) {
		t.Fatal("wrapped error lost its cause or class")
	}
	if From(errors.New("disk on fire")) != ErrInternal {
		t.Fatal("unclassified error must be internal")
	}
	if From(nil) != nil {
		t.Fatal("nil must map to nil")
	}
	if !errors.Is(ErrBadRequest.WithMessage("app.id: missing"), ErrBadRequest) {
		t.Fatal("WithMessage copy must still classify")
	}
}

func TestAppendBodyIsValidJSON(t *testing.T) {
	e := ErrBadRequest.WithMessage("field \"app\\id\"\n\x01 é")
	var got struct{ Error, Message string }
	if err := json.Unmarshal(e.AppendBody(nil), &got); err != nil {
		t.Fatalf("body not JSON: %v", err)
	}
	if got.Error != "bad_request" {
		t.Fatalf("error = %q", got.Error)
	}
}
