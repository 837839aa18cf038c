package testsuite

import (
	"context"
	"os"
	"path/filepath"
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

// webUIScreenshot saves a PNG of page (once it shows want) into the
// test's temporary folder, or into $VELAFLOW_SCREENSHOT_DIR, and returns
// the page's text and the file.
//
// open names a tab or section to click open first ("": none).
func webUIScreenshot(t *testing.T, page, open, want, name string) (string, string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	defer cancelTimeout()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s in Chromium: %v", page, err)
	}
	if open != "" {
		// Click the innermost element whose text is open, once it is there.
		click := `(open) => { const el = [...document.querySelectorAll('button, a, [role=tab], summary, h2, h3, span, div')]
			.filter(e => e.innerText && e.innerText.trim() === open).pop(); if (!el) return false; el.click(); return true }`
		if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](click, chromedp.WithPollingArgs(open),
			chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(50*time.Second))); err != nil {
			t.Fatalf("the Web UI at %s has no %q to open: %v", page, open, err)
		}
	}
	// The Web UI renders user Markdown (summaries, details) in frames.
	const allText = `(() => { let t = document.body ? document.body.innerText : "";
		for (const f of document.querySelectorAll('iframe')) { try { t += "\n" + f.contentDocument.body.innerText } catch (e) {} }
		return t })()`
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`(want) => `+allText+`.includes(want)`,
		chromedp.WithPollingArgs(want), chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(50*time.Second)))
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](allText))
	if err != nil {
		t.Fatalf("the Web UI at %s did not show %q: %v\nit showed:\n%s", page, want, err, text)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", page, err)
	}
	dir := os.Getenv("VELAFLOW_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return text, file
}
