// Command build-service is the demo's stand-in for an internal image build
// service: POST /builds starts a build, GET /builds/{id} reports
// {"status": "building"|"done", "image": ...}; a build takes -build-time.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	buildTime := flag.Duration("build-time", 4*time.Second, "how long a build takes")
	flag.Parse()

	var mu sync.Mutex
	started := map[string]time.Time{}
	apps := map[string]string{}
	http.HandleFunc("POST /builds", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			App string `json:"app"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		id := fmt.Sprintf("b%d", len(started)+1)
		started[id], apps[id] = time.Now(), req.App
		mu.Unlock()
		log.Printf("build %s of %q started", id, req.App)
		json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "building"})
	})
	http.HandleFunc("GET /builds/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		mu.Lock()
		t, ok := started[id]
		app := apps[id]
		mu.Unlock()
		if !ok {
			http.Error(w, "no such build", http.StatusNotFound)
			return
		}
		status := "building"
		if time.Since(t) >= *buildTime {
			status = "done"
		}
		json.NewEncoder(w).Encode(map[string]string{"id": id, "status": status, "image": "registry.local/" + app + ":" + id})
	})
	http.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		log.Printf("notification: %v", body)
		w.Write([]byte(`{"ok":true}`))
	})
	log.Printf("build service on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
