// Command build-service serves the examples' stand-in for an internal image
// build service (package service): builds, cache templates and their logs,
// and a notification endpoint. A build takes -build-time; with -fail-builds
// every build ends "failed".
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/velaflow/velaflow/examples/build-service/service"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	buildTime := flag.Duration("build-time", 4*time.Second, "how long a build takes")
	failBuilds := flag.Bool("fail-builds", false, "every build ends \"failed\" after -build-time")
	flag.Parse()

	svc := service.New(service.Options{BuildTime: *buildTime, FailBuilds: *failBuilds})
	log.Printf("build service on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, svc))
}
