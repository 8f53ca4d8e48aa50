package ctl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/attestd/attestd/internal/model"
)

// explain words an error for what the user did. Validation errors wrap
// model.ErrInvalid, whose text is "invalid bundle": right for import,
// misleading for every command that took no bundle (a secret put for an
// app the account does not have would read "invalid bundle: accounts[...]
// .secrets[0].apps[0]: ..."). For those the prefix becomes "refused", and
// the field path, which names a member of the stored record, is kept after
// it: the message still says which record and field are at fault.
func explain(cmd *command, err error) error {
	if cmd.name == "import" || !errors.Is(err, model.ErrInvalid) {
		return err
	}
	msg := err.Error()
	prefix := model.ErrInvalid.Error() + ": "
	if i := strings.Index(msg, prefix); i >= 0 {
		msg = msg[:i] + msg[i+len(prefix):]
	}
	return fmt.Errorf("refused: %s", msg)
}
