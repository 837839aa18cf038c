package service

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func field(t *testing.T, body, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	s, _ := m[key].(string)
	return s
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBuildCacheTemplateNotify(t *testing.T) {
	svc := New(Options{BuildTime: 50 * time.Millisecond, Logger: quiet})
	srv := httptest.NewServer(svc)
	defer srv.Close()

	code, body := call(t, srv, "POST", "/builds", `{"app":"shop"}`)
	if code != 200 || field(t, body, "id") != "b1" || field(t, body, "status") != "building" {
		t.Fatalf("POST /builds: %d %s", code, body)
	}
	if _, body = call(t, srv, "GET", "/builds/b1", ""); field(t, body, "status") != "building" {
		t.Fatalf("at once: %s", body)
	}
	time.Sleep(60 * time.Millisecond)
	_, body = call(t, srv, "GET", "/builds/b1", "")
	if field(t, body, "status") != "done" || field(t, body, "image") != "registry.local/shop:b1" {
		t.Fatalf("after the build time: %s", body)
	}
	if code, _ = call(t, srv, "GET", "/builds/b9", ""); code != 404 {
		t.Fatalf("unknown build: %d", code)
	}

	code, body = call(t, srv, "POST", "/cache-templates", `{"image":"registry.local/shop:b1"}`)
	if code != 200 || field(t, body, "id") != "t1" {
		t.Fatalf("POST /cache-templates: %d %s", code, body)
	}
	if code, _ = call(t, srv, "POST", "/cache-templates", `{}`); code != 400 {
		t.Fatalf("no image: %d", code)
	}
	code, body = call(t, srv, "GET", "/cache-templates/t1/log", "")
	if code != 200 || body != TemplateLog("registry.local/shop:b1", "t1") || !strings.Contains(body, "template t1 ready") {
		t.Fatalf("log: %d %q", code, body)
	}

	if code, _ = call(t, srv, "POST", "/notify", `{"event":"x"}`); code != 200 {
		t.Fatalf("notify: %d", code)
	}
	if n := svc.Notifications(); len(n) != 1 || n[0]["event"] != "x" {
		t.Fatalf("notifications: %v", n)
	}
	want := map[string]int{"POST /builds": 1, "GET /builds/{id}": 3, "POST /cache-templates": 2, "GET /cache-templates/{id}/log": 1, "POST /notify": 1}
	for k, v := range want {
		if svc.Count(k) != v {
			t.Errorf("Count(%q) = %d, want %d (all: %v)", k, svc.Count(k), v, svc.Counts())
		}
	}
}

func TestFailBuilds(t *testing.T) {
	srv := httptest.NewServer(New(Options{FailBuilds: true, Logger: quiet}))
	defer srv.Close()
	call(t, srv, "POST", "/builds", `{"app":"shop"}`)
	if _, body := call(t, srv, "GET", "/builds/b1", ""); field(t, body, "status") != "failed" {
		t.Fatalf("want failed: %s", body)
	}
}
