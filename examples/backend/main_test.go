package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestExample runs the example server on loopback and sends it a token the
// example mints, and a request without one.
func TestExample(t *testing.T) {
	env := map[string]string{"ATTESTD_HS256_SECRET": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if rc := run(context.Background(), []string{"-mint"}, getenv, &out, io.Discard); rc != 0 {
		t.Fatalf("-mint exited %d", rc)
	}
	tok := strings.TrimSpace(out.String())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-listen", addr}, getenv, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if rc := <-done; rc != 0 {
			t.Errorf("server exited %d", rc)
		}
	})

	get := func(tok string) (*http.Response, []byte) {
		t.Helper()
		for range 50 {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
			if tok != "" {
				req.Header.Set("Attest-Token", tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				time.Sleep(20 * time.Millisecond) // not listening yet
				continue
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, body
		}
		t.Fatal("the example server never answered")
		return nil, nil
	}
	resp, body := get(tok)
	var claims map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &claims) != nil || claims["app"] != "com.example.demo" || claims["account"] != "demo" {
		t.Fatalf("with a token: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(""); resp.StatusCode != 401 || !strings.Contains(string(body), `"token_invalid"`) {
		t.Fatalf("without a token: %d %s", resp.StatusCode, body)
	}
}

func TestExampleNeedsAKey(t *testing.T) {
	if rc := run(context.Background(), nil, func(string) string { return "" }, io.Discard, io.Discard); rc != 2 {
		t.Fatalf("exit %d without a key, want 2", rc)
	}
}
