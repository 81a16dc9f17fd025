// Package fakesuites is a test binary for the guest's own tests: three
// suites under one parent, whose suite b can crash or hang on demand
// (FAKE_B=exit|hang).
package fakesuites

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func record(t *testing.T) {
	path := os.Getenv("BPFMATRIX_RECORDS")
	if path == "" {
		return
	}
	b, _ := json.Marshal(map[string]any{"test": t.Name(), "hook": "fake", "mechanism": "m-" + t.Name(), "events": 1})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(append(b, '\n'))
}

func TestSuites(t *testing.T) {
	for _, s := range []string{"a", "b", "c"} {
		t.Run(s, func(t *testing.T) {
			t.Run("TestOne", func(t *testing.T) {
				record(t)
				if s == "b" {
					switch os.Getenv("FAKE_B") {
					case "exit":
						os.Exit(3)
					case "hang":
						time.Sleep(time.Hour)
					}
				}
			})
			t.Run("TestTwo", func(t *testing.T) {
				if s == "c" {
					t.Error("c's TestTwo fails")
				}
			})
		})
	}
}
