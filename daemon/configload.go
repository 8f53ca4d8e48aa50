package daemon

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sources are where LoadFlags reads settings from. The zero value of each
// hook means the process's own (os.LookupEnv, os.ReadFile, os.Stat).
type Sources struct {
	Args      []string
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
	Stat      func(string) (os.FileInfo, error)
	// Stderr receives flag usage.
	Stderr io.Writer
}

func (s *Sources) fill() {
	if s.LookupEnv == nil {
		s.LookupEnv = os.LookupEnv
	}
	if s.ReadFile == nil {
		s.ReadFile = os.ReadFile
	}
	if s.Stat == nil {
		s.Stat = os.Stat
	}
	if s.Stderr == nil {
		s.Stderr = io.Discard
	}
}

// Loaded is a resolved configuration and where each setting came from.
type Loaded struct {
	Flags Flags
	// Origin maps a flag name to "default", "file", "env" or "flag".
	Origin map[string]string
	// PrintConfig: --print-config was given.
	PrintConfig bool
	fs          *flag.FlagSet
}

// EnvPrefix prefixes the environment variable of every setting.
const EnvPrefix = "ATTESTD_"

// EnvName is the environment variable of flag name ("http3-listen" →
// ATTESTD_HTTP3_LISTEN).
func EnvName(name string) string { return EnvPrefix + strings.ToUpper(fileKey(name)) }

// fileKey is the configuration file key of flag name ("http3-listen" →
// http3_listen).
func fileKey(name string) string { return strings.ReplaceAll(name, "-", "_") }

// credentialName is the systemd credential holding the master key
// (LoadCredential=master.key:/etc/attestd/master.key).
const credentialName = "master.key"

// LoadFlags resolves the settings: defaults, then the YAML file (--config,
// or ATTESTD_CONFIG), then ATTESTD_* environment variables, then flags;
// each source overrides the ones before it. The file is decoded strictly:
// an unknown key is an error naming it. Values are parsed by the same flag
// parsers whatever their source.
func LoadFlags(src Sources) (*Loaded, error) {
	src.fill()
	l := &Loaded{Flags: DefaultFlags(), Origin: map[string]string{}}
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(src.Stderr)
	registerFlags(fs, &l.Flags)
	fs.BoolVar(&l.PrintConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	l.fs = fs
	if err := fs.Parse(src.Args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]string{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = fl.Value.String() })
	path := l.Flags.Config
	if _, ok := given["config"]; !ok {
		path, _ = src.LookupEnv(EnvName("config"))
	}
	l.Flags = DefaultFlags() // the flags point into l.Flags: reset, then layer
	l.Flags.Config = path
	fs.VisitAll(func(fl *flag.Flag) { l.Origin[fl.Name] = "default" })
	delete(l.Origin, "print-config")
	if path != "" {
		if err := l.applyFile(path, src.ReadFile); err != nil {
			return nil, err
		}
	}
	if err := l.applyEnv(src.LookupEnv); err != nil {
		return nil, err
	}
	for name, v := range given {
		if err := fs.Set(name, v); err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		l.Origin[name] = "flag"
	}
	l.credentials(src)
	l.statusCacheDefault(src)
	l.snapshotDefault(src)
	return l, nil
}

// statusCacheName is the status list cache's name in systemd's state
// directory.
const statusCacheName = "android-status.json"

// stateDirectory puts the status list cache of a URL --android-status in
// systemd's state directory ($STATE_DIRECTORY, the first when it names
// several, as StateDirectory= sets it) when no source named a cache.
// stateDirectory is the first directory of systemd's $STATE_DIRECTORY,
// "" when it is not set.
func stateDirectory(src Sources) string {
	dirs, _ := src.LookupEnv("STATE_DIRECTORY")
	dir, _, _ := strings.Cut(dirs, ":")
	return dir
}

// statusCacheDefault puts the Android status list's cache in the state
// directory when the list is a URL and no cache file was given.
func (l *Loaded) statusCacheDefault(src Sources) {
	s := l.Flags.AndroidStatus
	if l.Flags.AndroidStatusCache != "" || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		return
	}
	dir := stateDirectory(src)
	if dir == "" {
		return
	}
	l.Flags.AndroidStatusCache = filepath.Join(dir, statusCacheName)
	l.Origin["android-status-cache"] = "state-directory"
}

func (l *Loaded) applyFile(path string, read func(string) ([]byte, error)) error {
	b, err := read(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: line %d: want a mapping of settings", path, m.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := strings.ReplaceAll(k.Value, "_", "-")
		fl := l.fs.Lookup(name)
		if fl == nil || name == "config" || name == "print-config" || k.Value != fileKey(name) {
			return fmt.Errorf("config %s: line %d: unknown key %q", path, k.Line, k.Value)
		}
		if seen[name] {
			return fmt.Errorf("config %s: line %d: key %q given twice", path, k.Line, k.Value)
		}
		seen[name] = true
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("config %s: line %d: key %q: want a single value", path, v.Line, k.Value)
		}
		if err := l.fs.Set(name, v.Value); err != nil {
			return fmt.Errorf("config %s: line %d: key %q: %w", path, v.Line, k.Value, err)
		}
		l.Origin[name] = "file"
	}
	return nil
}

func (l *Loaded) applyEnv(lookup func(string) (string, bool)) error {
	var err error
	l.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil || fl.Name == "config" || fl.Name == "print-config" {
			return
		}
		v, ok := lookup(EnvName(fl.Name))
		if !ok {
			return
		}
		if e := l.fs.Set(fl.Name, v); e != nil {
			err = fmt.Errorf("environment %s: %w", EnvName(fl.Name), e)
			return
		}
		l.Origin[fl.Name] = "env"
	})
	return err
}

// SnapshotFileName is the default last-known-good snapshot file of a
// node on a remote store, in its state directory.
const SnapshotFileName = "attestd-snapshot.json"

// snapshotDefault gives a node on a remote store (etcd) a last-known-good
// snapshot file when no source set --snapshot, so that a node restarted
// while the store is unreachable serves what it served before: in the
// node's state directory, which is systemd's $STATE_DIRECTORY (its first
// entry; StateDirectory=attestd in attestd.service: /var/lib/attestd),
// else the working directory (beside the default data folder,
// ./attestd-data). --snapshot "" (from any source) keeps it off. Each node
// needs a file of its own: two nodes started in one working directory
// share it unless told otherwise.
func (l *Loaded) snapshotDefault(src Sources) {
	if l.Origin["snapshot"] != "default" || l.Flags.Snapshot != "" || !strings.HasPrefix(l.Flags.Store, "etcd://") {
		return
	}
	if dir := stateDirectory(src); dir != "" {
		l.Flags.Snapshot = filepath.Join(dir, SnapshotFileName)
		l.Origin["snapshot"] = "state-directory"
		return
	}
	l.Flags.Snapshot = SnapshotFileName
	l.Origin["snapshot"] = "default"
}

// credentials takes the master key from systemd's credentials directory
// when no source named one and the credential exists.
func (l *Loaded) credentials(src Sources) {
	if l.Flags.MasterKey != "" {
		return
	}
	dir, ok := src.LookupEnv("CREDENTIALS_DIRECTORY")
	if !ok || dir == "" {
		return
	}
	p := filepath.Join(dir, credentialName)
	if _, err := src.Stat(p); err == nil {
		l.Flags.MasterKey = p
		l.Origin["master-key"] = "credential"
	}
}
