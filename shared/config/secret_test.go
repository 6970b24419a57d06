package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type secretSpec struct {
	Token string `envconfig:"ROT_TOKEN" secret:"true"`
	Plain string `envconfig:"ROT_PLAIN" secret:"true"`
}

func (*secretSpec) Validate() []string { return nil }

func TestReaderRereadsSecretFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROT_TOKEN_FILE", path)
	t.Setenv("ROT_PLAIN", "value")
	var spec secretSpec
	if err := Load(&spec); err != nil {
		t.Fatal(err)
	}
	if SecretFile("ROT_TOKEN") != path || SecretFile("ROT_PLAIN") != "" {
		t.Fatalf("SecretFile = %q, %q", SecretFile("ROT_TOKEN"), SecretFile("ROT_PLAIN"))
	}
	token := Reader("ROT_TOKEN", spec.Token)
	plain := Reader("ROT_PLAIN", spec.Plain)
	if v, err := token(); v != "first" || err != nil {
		t.Errorf("token() = %q, %v", v, err)
	}
	// A Kubernetes Secret rotation replaces the file.
	if err := os.WriteFile(path, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := token(); v != "second" || err != nil {
		t.Errorf("token() after rotation = %q, %v", v, err)
	}
	if v, err := plain(); v != "value" || err != nil {
		t.Errorf("plain() = %q, %v", v, err)
	}
	if err := os.WriteFile(path, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := token(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("token() of an empty file = %v", err)
	}
	os.Remove(path)
	if _, err := token(); err == nil || !strings.Contains(err.Error(), "ROT_TOKEN_FILE") {
		t.Errorf("token() of a missing file = %v", err)
	}
}
