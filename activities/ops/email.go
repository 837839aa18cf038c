package ops

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
)

// emailOps send mail (vela/email). Sending is a side effect done once.
func emailOps() []Op {
	return []Op{{Provider: "email", Do: "send", Run: sendEmail, Once: func(cue.Value) bool { return true }}}
}

type emailArgs struct {
	From struct {
		Address  string `json:"address"`
		Alias    string `json:"alias"`
		Password string `json:"password"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
	} `json:"from"`
	To      []string `json:"to"`
	Content struct {
		Subject string `json:"subject"`
		Body    string `json:"body"`
	} `json:"content"`
}

func sendEmail(ctx context.Context, c *Call) (any, error) {
	var args emailArgs
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	if len(args.To) == 0 {
		return nil, RenderingError{errors.New("email: no recipients (to is empty)")}
	}
	if args.From.Host == "" || args.From.Port == 0 {
		return nil, RenderingError{errors.New("email: from.host and from.port name the SMTP server")}
	}
	msg := emailMessage(args, time.Now())
	if err := smtpSend(ctx, c.Env.rootCAs(), args, msg); err != nil {
		return nil, smtpErr(fmt.Errorf("email to %s via %s:%d: %w", strings.Join(args.To, ", "), args.From.Host, args.From.Port, err))
	}
	return map[string]any{"sent": len(args.To)}, nil
}

// emailMessage builds the message: an HTML body with the headers mail
// clients expect.
func emailMessage(a emailArgs, now time.Time) []byte {
	from := mail.Address{Name: a.From.Alias, Address: a.From.Address}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(a.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", a.Content.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(a.Content.Body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

func smtpSend(ctx context.Context, roots *x509.CertPool, a emailArgs, msg []byte) error {
	host := a.From.Host
	addr := net.JoinHostPort(host, strconv.Itoa(a.From.Port))
	tlsConfig := &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	d := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	var err error
	if a.From.Port == 465 { // SMTPS: TLS from the first byte
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer cl.Close()
	if ok, _ := cl.Extension("STARTTLS"); ok && a.From.Port != 465 {
		if err := cl.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if a.From.Password != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return FinalError{errors.New("the server offers no AUTH, but a password is given")}
		}
		if err := cl.Auth(smtp.PlainAuth("", a.From.Address, a.From.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := cl.Mail(a.From.Address); err != nil {
		return err
	}
	for _, to := range a.To {
		if err := cl.Rcpt(to); err != nil {
			return fmt.Errorf("recipient %s: %w", to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return cl.Quit()
}

// smtpErr makes permanent SMTP refusals (5xx: bad address, auth refused)
// final; transient ones (4xx) and network errors are retried.
func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return FinalError{err}
	}
	return err
}
