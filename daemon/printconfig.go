package daemon

import (
	"flag"
	"fmt"
	"io"
	"net/url"

	"go.yaml.in/yaml/v3"

	"github.com/attestd/attestd/crypto/secret"
)

// WriteConfig writes the effective configuration as a YAML file that
// --config accepts, each line commented with its source. Secrets are
// redacted, and so is a password inside the store URL.
func (l *Loaded) WriteConfig(w io.Writer) error {
	doc := &yaml.Node{Kind: yaml.MappingNode,
		HeadComment: "effective attestd configuration: flags > ATTESTD_* environment > file > defaults; secrets redacted"}
	l.fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "config" || fl.Name == "print-config" {
			return
		}
		v := fl.Value.String()
		switch {
		case isSecret(fl.Name) && v != "":
			v = secret.Redacted
		case fl.Name == "store":
			v = redactURL(v)
		}
		doc.Content = append(doc.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: fileKey(fl.Name)},
			&yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: quoteStyle(v), LineComment: l.Origin[fl.Name]})
	})
	if l.Flags.Config != "" {
		doc.HeadComment += "\nfile: " + l.Flags.Config
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return enc.Close()
}

func quoteStyle(v string) yaml.Style {
	if v == "" {
		return yaml.DoubleQuotedStyle
	}
	return 0
}

// redactURL hides the password of a URL's user information.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), secret.Redacted)
	}
	return u.String()
}
