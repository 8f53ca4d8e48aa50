package debugtoken

import "encoding/base64"

var b64Strict = base64.RawURLEncoding.Strict()
