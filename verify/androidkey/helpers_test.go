package androidkey_test

import (
	"math/big"
	"strings"
)

func upperHex(s string) string { return strings.ToUpper(s) }

func bigOne() *big.Int { return big.NewInt(1) }
