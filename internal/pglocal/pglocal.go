package pglocal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Names of the files kept in Options.Dir and in its data directory.
const (
	dataDirName  = "data"
	passwordName = "password"
	portName     = "port"
	logName      = "postgres.log"
	lockName     = "lock"
	confName     = "pglocal.conf" // inside the data directory, included from postgresql.conf
	adminUser    = "pgtenant_admin"
)

// Options says where the cluster lives and how it runs.
type Options struct {
	// Dir is the cluster directory. The data directory is Dir/data. Dir is created if missing. When the process
	// runs as root, Dir's tree is handed to the postgres OS user and any ancestor of Dir that others cannot search
	// gets search permission (o+x, not read), since the server must reach its data directory.
	Dir string
	// Durable false (for tests) turns off fsync, synchronous_commit and full_page_writes: fast, but a crash of the
	// machine can corrupt the cluster.
	Durable bool
	// Port is the TCP port on 127.0.0.1. 0 picks a free port on the first start and remembers it in Dir, so that a
	// reused cluster keeps its port.
	Port int
	// Settings are extra postgresql.conf lines ("shared_preload_libraries = 'citus'"), written with ours on every
	// start.
	Settings []string
	// TrustLoopback lets every role on 127.0.0.1 in without a password (pg_hba.conf "trust"), for the test nodes
	// of a Citus cluster: the coordinator connects to the workers as whichever role runs the query. Never for a
	// server that anything but tests uses.
	TrustLoopback bool
}

// Server is a running PostgreSQL server started (or found running) by Start.
type Server struct {
	Dir      string // the cluster directory (absolute)
	Port     int    // the TCP port on 127.0.0.1
	User     string // the superuser
	Password string // the superuser's password
	BinDir   string // where initdb and pg_ctl were found

	cred *syscall.Credential // who runs initdb and pg_ctl: nil for this process's own user
}

// Start makes sure the cluster in opts.Dir is running and returns it; reused is true if it was already running.
// A cluster that is initialised but stopped is started with `pg_ctl start`; an absent one is created with initdb
// first. Start waits until the server accepts connections. Returns an error wrapping ErrNoBinaries if PostgreSQL
// is not installed.
func Start(ctx context.Context, opts Options) (srv *Server, reused bool, err error) {
	if opts.Dir == "" {
		return nil, false, errors.New("pglocal: Options.Dir is empty: say where the cluster lives")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, false, fmt.Errorf("pglocal: %w", err)
	}
	bin, err := BinDir()
	if err != nil {
		return nil, false, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, false, err
	}
	s := &Server{Dir: dir, User: adminUser, BinDir: bin, cred: cred}
	if err := s.prepareDir(); err != nil {
		return nil, false, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, false, err
	}
	defer unlock()

	if _, err := os.Stat(filepath.Join(s.dataDir(), "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := s.initdb(ctx, opts.Durable); err != nil {
			return nil, false, err
		}
	} else if err != nil {
		return nil, false, fmt.Errorf("pglocal: %w", err)
	} else if err := s.readPassword(); err != nil {
		return nil, false, err
	}

	running, err := s.reuse(ctx)
	if err != nil {
		return nil, false, err
	}
	if running {
		if opts.Port != 0 && opts.Port != s.Port {
			return nil, false, fmt.Errorf("pglocal: the server in %s already runs on port %d, not %d: stop it "+
				"first (pg_ctl stop -D %s) or ask for port %d", dir, s.Port, opts.Port, s.dataDir(), s.Port)
		}
		return s, true, nil
	}
	if err := s.start(ctx, opts); err != nil {
		return nil, false, err
	}
	return s, false, nil
}

// URL returns a connection URL for the superuser to database on this server.
func (s *Server) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.User, s.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server with `pg_ctl stop -m fast` on this cluster's data directory (and nothing else); it waits
// until the server is down. Stopping a server that is not running is not an error. Stop needs only Dir and BinDir,
// so it can stop a cluster left running by an earlier process.
func (s *Server) Stop(ctx context.Context) error { return s.stop(ctx, "fast") }

// StopImmediate is Stop with `pg_ctl stop -m immediate`: the server quits at once, without a shutdown checkpoint,
// as after a crash; the next start recovers from the WAL. For tests of a database outage.
func (s *Server) StopImmediate(ctx context.Context) error { return s.stop(ctx, "immediate") }

func (s *Server) stop(ctx context.Context, mode string) error {
	if s.cred == nil { // a Server built from its exported fields rather than by Start
		cred, err := serverUser()
		if err != nil {
			return err
		}
		s.cred = cred
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.dataDir(), "postmaster.pid")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if out, err := s.pgctl(ctx, "stop", "-D", s.dataDir(), "-m", mode, "-w", "-t", "60"); err != nil {
		return fmt.Errorf("pglocal: stop the server in %s: %w: %s(if no server runs there, remove %s)",
			s.Dir, err, out, filepath.Join(s.dataDir(), "postmaster.pid"))
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, dataDirName) }

// prepareDir creates Dir and, as root, hands it to the server's OS user.
func (s *Server) prepareDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("pglocal: create cluster directory: %w", err)
	}
	if s.cred == nil {
		return nil
	}
	if err := makeSearchable(filepath.Dir(s.Dir)); err != nil {
		return err
	}
	// Chown the whole tree: a reused directory may hold files a root process wrote (lock, port) that the server
	// must read. On an initialised cluster this is about a thousand no-op lchown calls, a few milliseconds.
	err := filepath.WalkDir(s.Dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(s.cred.Uid), int(s.cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("pglocal: hand %s to the postgres OS user: %w", s.Dir, err)
	}
	return nil
}

// lock takes an exclusive flock on Dir/lock, so that two processes starting the same cluster do not both run initdb
// or pg_ctl start. The lock goes away with the process, so a crash cannot leave it behind.
func (s *Server) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pglocal: lock %s: %w", s.Dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("pglocal: lock %s: %w", s.Dir, err)
	}
	return func() { _ = f.Close() }, nil // closing the file releases the flock
}

// initdb creates the data directory with a fresh superuser password.
func (s *Server) initdb(ctx context.Context, durable bool) error {
	if entries, err := os.ReadDir(s.dataDir()); err == nil && len(entries) > 0 {
		return fmt.Errorf("pglocal: %s is not empty but holds no cluster (no PG_VERSION): remove it to create "+
			"a fresh cluster", s.dataDir())
	}
	s.Password = rand.Text()
	pwfile := filepath.Join(s.Dir, passwordName)
	if err := s.writeFile(pwfile, s.Password+"\n", 0o600); err != nil {
		return err
	}
	args := []string{"-D", s.dataDir(), "-U", s.User, "--auth=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8"}
	if !durable {
		args = append(args, "--no-sync") // a throwaway cluster need not wait for a thousand fsyncs
	}
	// C.UTF-8 gives byte-order (reproducible) collation and Unicode-aware upper()/lower(); not every libc has it.
	out, err := s.run(ctx, "initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil && bytes.Contains(out, []byte("locale")) {
		out, err = s.run(ctx, "initdb", append(args, "--locale=C")...)
	}
	if err != nil {
		return fmt.Errorf("pglocal: initdb in %s: %w:\n%s", s.dataDir(), err, out)
	}
	// Our settings live in their own file, rewritten on every start, so that postgresql.conf stays initdb's.
	conf, err := os.OpenFile(filepath.Join(s.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	_, err = fmt.Fprintf(conf, "\n# Added by pgtenant (internal/pglocal).\ninclude = '%s'\n", confName)
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	return nil
}

func (s *Server) readPassword() error {
	pw, err := os.ReadFile(filepath.Join(s.Dir, passwordName))
	if err != nil {
		return fmt.Errorf("pglocal: %s holds a cluster but its superuser password cannot be read (%w): remove %s "+
			"to create a fresh cluster", s.Dir, err, s.Dir)
	}
	s.Password = strings.TrimSpace(string(pw))
	return nil
}

// reuse reports whether a server already runs on the data directory, and if so sets s.Port from postmaster.pid
// and waits until it accepts connections (it may be starting up or recovering).
func (s *Server) reuse(ctx context.Context) (bool, error) {
	pid, err := os.ReadFile(filepath.Join(s.dataDir(), "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("pglocal: %w", err)
	}
	// postmaster.pid may be left over from a crash; pg_ctl status checks that its process is alive, and
	// pg_ctl start copes with a stale file.
	if _, err := s.pgctl(ctx, "status", "-D", s.dataDir()); err != nil {
		return false, nil
	}
	// Line 4 of postmaster.pid is the port: https://www.postgresql.org/docs/current/storage-file-layout.html
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 4 {
		return false, fmt.Errorf("pglocal: %s/postmaster.pid is incomplete: stop that server (pg_ctl stop -D %s)",
			s.dataDir(), s.dataDir())
	}
	if s.Port, err = strconv.Atoi(strings.TrimSpace(lines[3])); err != nil {
		return false, fmt.Errorf("pglocal: %s/postmaster.pid: bad port line: %w", s.dataDir(), err)
	}
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		return false, fmt.Errorf("pglocal: a server runs on %s but %w; see %s or stop it (pg_ctl stop -D %s)",
			s.dataDir(), err, filepath.Join(s.Dir, logName), s.dataDir())
	}
	return true, nil
}

// waitReady polls until the superuser can connect.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		conn, err := pgconn.Connect(ctx, s.URL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("does not accept connections on port %d: %w", s.Port, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// start writes the settings and runs pg_ctl start. If the port was picked here and someone else took it in the
// meantime, it picks another one.
func (s *Server) start(ctx context.Context, opts Options) error {
	s.Port = opts.Port
	picked := false
	if s.Port == 0 {
		if b, err := os.ReadFile(filepath.Join(s.Dir, portName)); err == nil {
			s.Port, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	for attempt := 0; ; attempt++ {
		if s.Port == 0 {
			port, err := freePort()
			if err != nil {
				return err
			}
			s.Port, picked = port, true
		}
		if err := s.writeSettings(opts); err != nil {
			return err
		}
		logPath := filepath.Join(s.Dir, logName)
		logStart := fileSize(logPath)
		out, err := s.pgctl(ctx, "start", "-D", s.dataDir(), "-l", logPath, "-w", "-t", "60")
		if err == nil {
			return nil
		}
		tail := readFrom(logPath, logStart)
		if picked && attempt < 3 && strings.Contains(tail, "could not bind") {
			s.Port = 0
			continue
		}
		return fmt.Errorf("pglocal: start the server in %s: %w: %s\nlast lines of %s:\n%s\nfix the cause above, "+
			"or remove %s to create a fresh cluster", s.Dir, err, out, logPath, lastLines(tail, 20), s.Dir)
	}
}

// writeSettings writes Dir/port and the data directory's pglocal.conf (and, with TrustLoopback, pg_hba.conf).
func (s *Server) writeSettings(opts Options) error {
	if err := s.writeFile(filepath.Join(s.Dir, portName), strconv.Itoa(s.Port)+"\n", 0o644); err != nil {
		return err
	}
	onOff := "off"
	if opts.Durable {
		onOff = "on"
	}
	conf := fmt.Sprintf(`# Written by pgtenant (internal/pglocal) on every start: edits are overwritten.
port = %d
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = %s
synchronous_commit = %s
full_page_writes = %s
`, s.Port, onOff, onOff, onOff)
	for _, line := range opts.Settings {
		conf += line + "\n"
	}
	if opts.TrustLoopback {
		hba := "# Written by pgtenant (internal/pglocal) for a test cluster: loopback needs no password.\n" +
			"host all all 127.0.0.1/32 trust\n"
		if err := s.writeFile(filepath.Join(s.dataDir(), "pg_hba.conf"), hba, 0o600); err != nil {
			return err
		}
	}
	return s.writeFile(filepath.Join(s.dataDir(), confName), conf, 0o600)
}

// writeFile writes a file that the server's OS user must be able to read.
func (s *Server) writeFile(path, content string, perm os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
	}
	return nil
}

func (s *Server) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	return s.run(ctx, "pg_ctl", args...)
}

// run runs one of the PostgreSQL binaries as the server's OS user and returns its combined output.
func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, name), args...)
	cmd.Dir = s.Dir // the server's user may not be able to enter our working directory
	cmd.Env = serverEnv()
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the postmaster running in its own session with its output sent to the log file, so it
	// does not hold our pipe open; WaitDelay guards against that anyway.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// serverEnv is our environment without PG* variables (PGDATA, PGPORT, ...) that would change what initdb, pg_ctl
// or the server do, and with messages in English so that they can be recognised.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another process may take it before the server
// binds it; start then tries again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// readFrom returns the content of path from offset on, or "" if it cannot be read.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
