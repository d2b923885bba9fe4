package pgbouncer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrNotInstalled is returned by Start when no pgbouncer binary is found.
var ErrNotInstalled = errors.New("pgbouncer: the pgbouncer binary is not installed (apt-get install pgbouncer; " +
	"`make test` does it as root)")

// Options says how to run PgBouncer.
type Options struct {
	// Upstream is a URL of the PostgreSQL server (only its host and port are used): every database name is
	// forwarded to the same name there.
	Upstream string
	// Users are the logins PgBouncer accepts, with their passwords. It authenticates clients with SCRAM and logs
	// in to PostgreSQL with the same name and password.
	Users map[string]string
	// PoolSize is the number of server connections per database and user (default_pool_size); 0 means 2, fewer
	// than the clients of a test, so that consecutive transactions of one client land on different server
	// connections.
	PoolSize int
}

// Server is a running PgBouncer.
type Server struct {
	Addr string // host:port it listens on
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// Binary returns the path of the pgbouncer binary, or ErrNotInstalled.
func Binary() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Start writes the configuration into a new directory under dir (os.TempDir() when "") and starts PgBouncer,
// returning once it accepts connections. Returns ErrNotInstalled when there is no binary.
func Start(ctx context.Context, dir string, o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	up, err := url.Parse(o.Upstream)
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: upstream URL: %w", err)
	}
	if dir, err = os.MkdirTemp(dir, "pgbouncer-"); err != nil {
		return nil, fmt.Errorf("pgbouncer: %w", err)
	}
	s := &Server{dir: dir}
	// The port is free when configure picks it, but another process may take it before PgBouncer binds it: then
	// PgBouncer exits at start, and another port is tried.
	for attempt := 0; ; attempt++ {
		if err := s.configure(up, o); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		err := s.start(ctx, bin)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// errPortTaken: PgBouncer could not bind its port, which another process took after configure picked it.
var errPortTaken = errors.New("pgbouncer: the port was taken by another process")

// configure picks a free port and writes pgbouncer.ini and userlist.txt.
func (s *Server) configure(up *url.URL, o Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pool := o.PoolSize
	if pool <= 0 {
		pool = 2
	}
	host, upPort := up.Hostname(), up.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if upPort == "" {
		upPort = "5432"
	}
	var users strings.Builder
	for name, password := range o.Users {
		fmt.Fprintf(&users, "%s %s\n", quote(name), quote(password))
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
server_login_retry = 1
`, host, upPort, port, filepath.Join(s.dir, "userlist.txt"), pool, filepath.Join(s.dir, "pgbouncer.log"),
		filepath.Join(s.dir, "pgbouncer.pid"))
	for name, text := range map[string]string{"pgbouncer.ini": ini, "userlist.txt": users.String()} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("pgbouncer: %w", err)
		}
	}
	return s.chown()
}

// quote writes a userlist.txt field: double-quoted, with " doubled.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// runAs returns the credential to run PgBouncer with: nil (this process's user) unless we are root, which
// PgBouncer refuses; then the postgres OS user that the distribution packages create.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: running as root, which PgBouncer refuses, and there is no "+
			"\"postgres\" OS user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chown gives the directory and its files to the user PgBouncer runs as, and lets it reach the directory.
func (s *Server) chown() error {
	cred, err := runAs()
	if err != nil || cred == nil {
		return err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	paths := []string{s.dir}
	for _, e := range entries {
		paths = append(paths, filepath.Join(s.dir, e.Name()))
	}
	for _, p := range paths {
		if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgbouncer: %w", err)
		}
	}
	// Others may pass through (not list) the ancestors, e.g. a 0700 test temp directory.
	for d := filepath.Dir(s.dir); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgbouncer: %w", err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, info.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pgbouncer: %w", err)
			}
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// start runs the binary in the foreground of a child process and waits until it listens: until its log says so.
// A connection that succeeds is not enough, since another process may own the port; and PgBouncer logs its
// listening socket only once it is bound. Returns an error wrapping errPortTaken when the port was in use.
func (s *Server) start(ctx context.Context, bin string) error {
	cred, err := runAs()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "pgbouncer.log")
	from := int64(0)
	if fi, err := os.Stat(logPath); err == nil {
		from = fi.Size() // Restart appends to the log of the earlier run
	}
	cmd := exec.Command(bin, filepath.Join(s.dir, "pgbouncer.ini"))
	// Pdeathsig: a test binary killed by -timeout runs no cleanup, and PgBouncer must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgbouncer: start: %w", err)
	}
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	listening := "listening on " + s.Addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := s.logFrom(from)
		if strings.Contains(log, listening) {
			return nil
		}
		select {
		case werr := <-s.done:
			s.done <- werr
			s.cmd = nil
			if strings.Contains(s.logFrom(from), "Address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, s.Addr)
			}
			return fmt.Errorf("pgbouncer: exited at start (%v): %s", werr, s.Log())
		case <-ctx.Done():
			_ = s.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("pgbouncer: not listening on %s after 10s: %s", s.Addr, s.Log())
		}
	}
}

// logFrom returns PgBouncer's log from byte offset on.
func (s *Server) logFrom(offset int64) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "pgbouncer.log"))
	if offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// Restart starts PgBouncer again, on the same port, after Stop.
func (s *Server) Restart(ctx context.Context) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	return s.start(ctx, bin)
}

// Stop shuts PgBouncer down at once (SIGTERM: connections are closed) and waits for it to exit.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	cmd := s.cmd
	s.cmd = nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgbouncer: stop pid %d: %w", cmd.Process.Pid, err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("pgbouncer: pid %d ignored SIGTERM for 10s: killed", cmd.Process.Pid)
	}
}

// Close stops PgBouncer and removes its directory.
func (s *Server) Close() error {
	return errors.Join(s.Stop(), os.RemoveAll(s.dir))
}

// Log returns PgBouncer's log so far (for a failure message).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "pgbouncer.log"))
	return string(b)
}

// URL returns u (a URL of the upstream server) with its host and port replaced by PgBouncer's.
func (s *Server) URL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Host = s.Addr
	return p.String()
}

// New starts PgBouncer in front of the server of urls for one test, accepting the user and password of each, and
// stops it when t ends. It skips t when pgbouncer is not installed, unless PGTEST_REQUIRED=1.
func New(t testing.TB, urls ...string) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("PGTEST_REQUIRED") != "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	o := Options{Users: map[string]string{}}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil || p.User == nil {
			t.Fatalf("pgbouncer: want a URL with a user and password, got one that does not parse (%v)", err)
		}
		pw, _ := p.User.Password()
		o.Users[p.User.Username()] = pw
		o.Upstream = u
	}
	s, err := Start(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgbouncer: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
