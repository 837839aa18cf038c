package testsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// service is the fake HTTP service one conformance case talks to. Every
// case gets its own, so counts are the case's own. It counts requests by
// path and remembers their order.
//
//	POST /build          counted; answers {"id":"42"}
//	GET  /status/{id}    counted; "building", or "ready" once setReady(id) was
//	                     called or on the readyAfter(id, n)-th request
//	     /fail           counted; 500
//	     /hangup         counted; closes the connection without answering
//	                     (a transport error: the engine retries it)
//	GET  /sleep?ms=N     counted; answers after N ms (N may be 3E+2); maxInFlight tells how
//	                     many were in progress at once
//	     /count/{key}    counted; 200 {"key": key, "n": hits so far}
//	     /log            counted; two lines of text
//	     /gate/{key}     counted; 500 until Open(key), then 200
//	     /flaky/{key}    counted; hangs up on the first HangUpFirst(key, n)
//	                     requests, then 200
//
// Responses carry "Connection: close" so that a client never reuses a
// connection the service hung up on: Go's transport would silently repeat
// such a GET, and counts would no longer be the engine's.
type service struct {
	*httptest.Server

	mu          sync.Mutex
	hits        map[string]int
	order       []string
	ready       map[string]bool
	after       map[string]int
	open        map[string]bool
	hangups     map[string]int
	inFlight    int
	maxInFlight int
}

func newService(t *testing.T) *service {
	s := &service{hits: map[string]int{}, ready: map[string]bool{}, after: map[string]int{}, open: map[string]bool{}, hangups: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /build", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		writeJSON(w, map[string]string{"id": "42"})
	})
	mux.HandleFunc("GET /status/{id}", func(w http.ResponseWriter, r *http.Request) {
		n := s.count(r)
		id := r.PathValue("id")
		s.mu.Lock()
		done := s.ready[id] || (s.after[id] > 0 && n >= s.after[id])
		s.mu.Unlock()
		if done {
			fmt.Fprint(w, "ready")
		} else {
			fmt.Fprint(w, "building")
		}
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/hangup", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		conn.Close()
	})
	mux.HandleFunc("GET /sleep", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		ms, err := strconv.ParseFloat(rawQuery(r, "ms"), 64)
		if err != nil {
			http.Error(w, "ms: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		s.mu.Unlock()
		time.Sleep(time.Duration(ms * float64(time.Millisecond)))
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
		writeJSON(w, map[string]float64{"slept": ms})
	})
	mux.HandleFunc("/count/{key}", func(w http.ResponseWriter, r *http.Request) {
		n := s.count(r)
		writeJSON(w, map[string]any{"key": r.PathValue("key"), "n": n})
	})
	mux.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		fmt.Fprint(w, "template cached\nready in 2 regions\n")
	})
	mux.HandleFunc("/gate/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		s.mu.Lock()
		open := s.open[r.PathValue("key")]
		s.mu.Unlock()
		if !open {
			http.Error(w, "closed", http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"gate": "open"})
	})
	mux.HandleFunc("/flaky/{key}", func(w http.ResponseWriter, r *http.Request) {
		n := s.count(r)
		s.mu.Lock()
		hangup := n <= s.hangups[r.PathValue("key")]
		s.mu.Unlock()
		if hangup {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		writeJSON(w, map[string]any{"n": n})
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// count records a request and returns how many requests its path has had.
func (s *service) count(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[r.URL.Path]++
	s.order = append(s.order, r.URL.Path)
	return s.hits[r.URL.Path]
}

// Hits is how many requests a path received.
func (s *service) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Order lists the requested paths in arrival order.
func (s *service) Order() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// MaxInFlight is the largest number of /sleep requests served at once.
func (s *service) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// SetReady makes /status/{id} answer "ready" from now on.
func (s *service) SetReady(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready[id] = true
}

// ReadyAfter makes /status/{id} answer "ready" from its n-th request on.
func (s *service) ReadyAfter(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after[id] = n
}

// Open makes /gate/{key} answer 200 from now on.
func (s *service) Open(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[key] = true
}

// HangUpFirst makes /flaky/{key} hang up on its first n requests.
func (s *service) HangUpFirst(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangups[key] = n
}

// rawQuery reads a query parameter without turning "+" into a space, so
// that a number CUE wrote as 3E+2 reads back.
func rawQuery(r *http.Request, key string) string {
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
