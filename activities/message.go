package activities

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// messageLimit is how much of a step's message its status shows.
const messageLimit = 200

var (
	htmlTag    = regexp.MustCompile(`(?s)<(script|style)\b.*?</(script|style)>|<[^>]*>`)
	whitespace = regexp.MustCompile(`\s+`)
)

// excerpt is a step message a person reads in a status line: an HTML
// page (an error page in a response body) as its text, whitespace runs
// as one space, at most messageLimit characters. cut tells it was
// changed; the whole message stays in the step's debug record.
func excerpt(msg string) (short string, cut bool) {
	s := msg
	lower := strings.ToLower(s)
	if strings.Contains(lower, "<html") || strings.Contains(lower, "<!doctype") || strings.Contains(lower, "<body") {
		s = htmlTag.ReplaceAllString(s, " ")
	}
	if utf8.RuneCountInString(s) > messageLimit || s != msg {
		s = strings.TrimSpace(whitespace.ReplaceAllString(s, " "))
	}
	if n := utf8.RuneCountInString(s); n > messageLimit {
		r := []rune(s)
		s = string(r[:messageLimit]) + fmt.Sprintf("… (%d characters more: velaflow debug shows all)", n-messageLimit)
	}
	return s, s != msg
}
