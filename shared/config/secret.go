package config

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"
)

// secretFiles maps a secret variable's name to the file Load read it from
// (<NAME>_FILE), for Reader.
var secretFiles sync.Map

// SecretFile returns the file the secret variable name was read from by the
// latest Load, or "" when it was given as a value (or not at all).
func SecretFile(name string) string {
	if p, ok := secretFiles.Load(name); ok {
		return p.(string)
	}
	return ""
}

// Reader returns a function that tells a secret's current value. When the
// secret variable name was read from a file (<NAME>_FILE, a mounted
// Kubernetes Secret), every call reads the file again, so that a rotated
// Secret is picked up without a restart: vendor clients call it after a
// 401. Otherwise it returns loaded, the value Load set. The errors name
// the file, never its content.
func Reader(name, loaded string) func() (string, error) {
	path := SecretFile(name)
	if path == "" {
		return func() (string, error) { return loaded, nil }
	}
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("re-read %s%s: %w", name, FileSuffix, err)
		}
		v := strings.TrimRightFunc(string(b), unicode.IsSpace)
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("re-read %s%s: the file %s is empty", name, FileSuffix, path)
		}
		return v, nil
	}
}
