package testsuite

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// smtpServer is a real SMTP server on loopback (go-smtp) that offers
// STARTTLS with a certificate of testCA, takes PLAIN auth only over TLS,
// and keeps every message it accepts.
type smtpServer struct {
	addr           string
	user, password string

	mu       sync.Mutex
	messages []smtpMessage
}

type smtpMessage struct {
	From, User string
	To         []string
	Data       string
	TLS        bool
}

func startSMTP(t *testing.T, user, password string) *smtpServer {
	t.Helper()
	s := &smtpServer{user: user, password: password}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.TLSConfig = testCA.serverTLS()
	srv.AllowInsecureAuth = false
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

func (s *smtpServer) received() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.messages...)
}

// NewSession implements smtp.Backend.
func (s *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{srv: s, conn: c}, nil
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	user string
	msg  smtpMessage
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.srv.user || password != ss.srv.password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.password != "" && ss.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	ss.msg = smtpMessage{From: from, User: ss.user}
	_, ss.msg.TLS = ss.conn.TLSConnectionState()
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = string(b)
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	ss.srv.messages = append(ss.srv.messages, ss.msg)
	return nil
}

func (ss *smtpSession) Reset()        { ss.msg = smtpMessage{} }
func (ss *smtpSession) Logout() error { return nil }
