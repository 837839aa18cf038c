package testsuite

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which make test installs.
const chromiumPath = "/usr/bin/chromium"

// webUIText opens page in headless Chromium and returns the page's text
// once it contains want (the Web UI renders in the browser, from
// requests of its own), or fails after a minute with what it showed.
func webUIText(t *testing.T, page, want string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: the Web UI checks need Debian's chromium (make test installs it: apt-get install chromium)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	defer cancelTimeout()

	if _, err := chromedp.Run(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s in Chromium: %v", page, err)
	}
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`(want) => !!document.body && document.body.innerText.includes(want)`,
		chromedp.WithPollingArgs(want), chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(50*time.Second)))
	text, terr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatalf("the Web UI at %s did not show %q: %v (%v)\nit showed:\n%s", page, want, err, terr, strings.TrimSpace(text))
	}
	return text
}
