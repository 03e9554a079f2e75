/* client: remote boxes. The -H URL (or PLANET_HOST) names the box's enter
 * socket on this host (unix:///PATH) or on another one
 * (ssh://[USER@]HOST[:PORT][/PATH]). For ssh, the client runs ssh with
 * `planet dial-stdio` as the remote command on one end of a socketpair and
 * uses the other end as it would use the enter socket: the bytes on it are
 * the protocol's, so TTY, signals, stdin and exit codes work as they do
 * locally.
 *
 * ssh's stderr goes to a memfd, never into the session. When the
 * connection ends before the server said anything, ssh's exit status and
 * the last line it (or the remote command) printed become the one line the
 * operator reads, and the client exits 255. ssh runs in a process group of
 * its own, so that the terminal's Ctrl-C reaches the client (which forwards
 * it) and not ssh; ssh children are reaped at exit. */
#include "client/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRANSPORTS 8 /* a command dials at most three times */
#define REAP_WAIT_MS 3000 /* ssh's own end after ours closed, before SIGTERM */
#define DIAL_NO_BOX 3	  /* dial-stdio's exit status: no box at the socket */

/* ---- the URL ----------------------------------------------------------------- */

static bool host_char(char c, bool bracketed)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_' || (bracketed && (c == ':' || c == '%'));
}

/* A user or host name as ssh takes it, never an option of its own. */
static bool name_ok(const char *s, size_t n, bool bracketed)
{
	if (!n || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!host_char(s[i], bracketed))
			return false;
	return true;
}

/* An absolute socket path that fits sockaddr_un, printable. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);
	if (p[0] != '/' || n < 2 || n >= REMOTE_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

static void copy(char *dst, const char *s, size_t n)
{
	memcpy(dst, s, n);
	dst[n] = 0;
}

static int parse_port(struct remote_url *u, const char *s, size_t n)
{
	unsigned long v = 0;
	if (!n || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	copy(u->port, s, n);
	return 0;
}

/* [USER@]HOST[:PORT] in s[0..n); HOST may be an IPv6 address in brackets. */
static int parse_authority(struct remote_url *u, const char *s, size_t n)
{
	const char *at = memrchr(s, '@', n);
	if (at) {
		size_t ul = (size_t)(at - s);
		if (ul >= sizeof u->user || !name_ok(s, ul, false))
			return -1;
		copy(u->user, s, ul);
		n -= ul + 1;
		s = at + 1;
	}
	const char *host = s, *end = s + n, *hend;
	bool bracketed = n && s[0] == '[';
	if (bracketed) {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		host = s + 1;
		hend = close;
		s = close + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		hend = s = colon ? colon : end;
	}
	size_t hl = (size_t)(hend - host);
	if (hl >= sizeof u->host || !name_ok(host, hl, bracketed))
		return -1;
	copy(u->host, host, hl);
	if (s == end)
		return 0;
	return *s == ':' ? parse_port(u, s + 1, (size_t)(end - s - 1)) : -1;
}

int remote_url_parse(const char *url, struct remote_url *u)
{
	memset(u, 0, sizeof *u);
	if (strncmp(url, "unix://", 7) == 0) {
		u->kind = REMOTE_UNIX;
		if (!path_ok(url + 7))
			return -1;
		copy(u->path, url + 7, strlen(url + 7));
		return 0;
	}
	if (strncmp(url, "ssh://", 6) != 0)
		return -1;
	u->kind = REMOTE_SSH;
	const char *auth = url + 6, *slash = strchr(auth, '/');
	size_t an = slash ? (size_t)(slash - auth) : strlen(auth);
	if (slash) {
		if (!path_ok(slash))
			return -1;
		copy(u->path, slash, strlen(slash));
	}
	return parse_authority(u, auth, an);
}

/* ---- which box the command talks to ----------------------------------------- */

static const char *global_host;	     /* planet -H URL CMD */
static struct remote_url ssh_target; /* set when the command goes over ssh */
static bool ssh_selected;

void client_set_host(const char *url)
{
	global_host = url;
}

bool client_remote_active(void)
{
	return ssh_selected;
}

int client_remote_resolve(struct client_opts *o)
{
	const char *host = o->host ? o->host : global_host, *from = "-H";
	bool local_opts = o->socket || o->config || o->state_dir_opt;
	if (host && local_opts) {
		fprintf(stderr, "planet %s: -H '%s' and --socket, --config or --state-dir name the box "
				"twice: give one of them\n", o->cmd, host);
		return -1;
	}
	if (!host && !local_opts) {
		const char *env = getenv("PLANET_HOST");
		host = env && *env ? env : NULL;
		from = "PLANET_HOST";
	}
	if (!host)
		return 0;
	struct remote_url u;
	if (remote_url_parse(host, &u) < 0) {
		char q[256];
		fprintf(stderr, "planet %s: %s %s: expected unix:///PATH or "
				"ssh://[USER@]HOST[:PORT][/PATH]\n", o->cmd, from,
			str_quote(q, sizeof q, host, strlen(host)));
		return -1;
	}
	/* The socket's name in messages: the path, or the URL as given. */
	o->located_socket = strdup(u.kind == REMOTE_UNIX ? u.path : host);
	if (!o->located_socket) {
		fprintf(stderr, "planet %s: out of memory\n", o->cmd);
		return -1;
	}
	o->socket = o->located_socket;
	if (u.kind == REMOTE_SSH) {
		ssh_target = u;
		ssh_selected = true;
	}
	return 1;
}

/* ---- the ssh transport ------------------------------------------------------- */

struct transport {
	int fd;	      /* our end of the socketpair (the caller owns it) */
	ino_t ino;    /* its inode: still ours at exit? */
	pid_t pid;    /* ssh; 0 once reaped */
	int errfd;    /* ssh's stderr (a memfd) */
	bool answered; /* a byte came from the server */
	bool no_box_ok; /* dial-stdio's "no box there" is an answer */
	bool no_box;	/* ... and that is what it said */
};
static struct transport transports[MAX_TRANSPORTS];
static size_t ntransports;

/* `planet dial-stdio [--socket 'PATH']`, for the remote user's shell. */
static int remote_command(struct strbuf *cmd, const char *path)
{
	if (sb_printf(cmd, "planet dial-stdio") < 0)
		return -1;
	if (!*path)
		return 0;
	if (sb_printf(cmd, " --socket '") < 0)
		return -1;
	for (const char *p = path; *p; p++)
		if ((*p == '\'' ? sb_printf(cmd, "'\\''") : sb_append(cmd, p, 1)) < 0)
			return -1;
	return sb_printf(cmd, "'");
}

/* ssh's argv: `ssh -T -o BatchMode=yes [-l USER] [-p PORT] -- HOST CMD`, or
 * with PLANET_SSH_COMMAND `sh -c '$PLANET_SSH_COMMAND "$@"' ...` as git
 * runs GIT_SSH_COMMAND. BatchMode: ssh is in the background process group,
 * where a password prompt would stop it; a user's own -o comes first and
 * wins. */
static size_t ssh_argv(const char **argv, const char *ssh_cmd, const char *script,
		       const char *remote)
{
	size_t n = 0;
	if (ssh_cmd) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = script;
		argv[n++] = ssh_cmd;
	} else {
		argv[n++] = "ssh";
	}
	argv[n++] = "-T";
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	if (*ssh_target.user) {
		argv[n++] = "-l";
		argv[n++] = ssh_target.user;
	}
	if (*ssh_target.port) {
		argv[n++] = "-p";
		argv[n++] = ssh_target.port;
	}
	argv[n++] = "--";
	argv[n++] = ssh_target.host;
	argv[n++] = remote;
	argv[n] = NULL;
	return n;
}

/* ssh with a clean signal state (the client blocks and ignores some), in a
 * process group of its own, stdin and stdout on sock, stderr on errfd. */
static int spawn_ssh(int sock, int errfd, const char *const *argv, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, sock, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sock, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errfd, STDERR_FILENO);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	int r = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return r;
}

static void reap_all(void);

int client_remote_dial(struct perr *e)
{
	if (ntransports == MAX_TRANSPORTS)
		return perr_set(e, 0, "too many connections to %s", ssh_target.host);
	_cleanup_strbuf_ struct strbuf remote = { 0 };
	if (remote_command(&remote, ssh_target.path) < 0)
		return perr_set(e, errno, "out of memory");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return perr_set(e, errno, "socketpair");
	_cleanup_fd_ int ours = sv[0], theirs = sv[1];
	_cleanup_fd_ int errfd = memfd_create("planet-ssh-stderr", MFD_CLOEXEC);
	struct stat st;
	if (errfd < 0 || fstat(ours, &st) < 0)
		return perr_set(e, errno, "memfd_create");
	const char *argv[24];
	const char *ssh_cmd = getenv("PLANET_SSH_COMMAND");
	ssh_cmd = ssh_cmd && *ssh_cmd ? ssh_cmd : NULL;
	_cleanup_strbuf_ struct strbuf script = { 0 };
	if (ssh_cmd && sb_printf(&script, "%s \"$@\"", ssh_cmd) < 0)
		return perr_set(e, errno, "out of memory");
	ssh_argv(argv, ssh_cmd, script.s, remote.s);
	pid_t pid;
	int r = spawn_ssh(theirs, errfd, argv, &pid);
	if (r) /* errnum 0: not "no box there" */
		return perr_set(e, 0, "cannot run %s: %s", argv[0], strerror(r));
	if (!ntransports)
		atexit(reap_all);
	transports[ntransports++] = (struct transport){
		.fd = ours, .ino = st.st_ino, .pid = pid, .errfd = take_fd(&errfd),
	};
	return take_fd(&ours);
}

/* The newest first: a closed connection's number is reused by the next
 * (exec's retry with an older version, the status after a session). */
static struct transport *find(int fd)
{
	for (size_t i = ntransports; i-- > 0;)
		if (transports[i].fd == fd && transports[i].pid)
			return &transports[i];
	return NULL;
}

/* Wait for ssh (at most ms), then SIGTERM it; its wait status. */
static int reap(struct transport *t, int ms)
{
	int status = 0;
	_cleanup_fd_ int pfd = pidfd_open(t->pid, 0);
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	if (pfd < 0 || poll(&p, 1, ms) <= 0)
		kill(t->pid, SIGTERM);
	while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
		;
	t->pid = 0;
	return status;
}

/* At exit: a connection the caller left open is shut, so that ssh sees
 * the end; then every ssh is reaped. */
static void reap_all(void)
{
	for (size_t i = 0; i < ntransports; i++) {
		struct transport *t = &transports[i];
		struct stat st;
		if (!t->pid)
			continue;
		if (fstat(t->fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == t->ino)
			shutdown(t->fd, SHUT_RDWR);
		reap(t, REAP_WAIT_MS);
		close(t->errfd);
	}
}

void client_remote_heard(int fd)
{
	struct transport *t = ntransports ? find(fd) : NULL;
	if (t)
		t->answered = true;
}

/* The last non-empty line of ssh's stderr, control characters as '?'. */
static void last_line(int errfd, char *out, size_t size)
{
	char buf[1024];
	off_t end = lseek(errfd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(errfd, buf, sizeof buf - 1, from);
	out[0] = 0;
	if (n <= 0)
		return;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	char *start = memrchr(buf, '\n', (size_t)n);
	start = start ? start + 1 : buf;
	size_t i = 0;
	for (; *start && i + 1 < size; start++, i++) {
		out[i] = *start;
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
	out[i] = 0;
}

/* What ssh's end says, in one line. ssh exits 255 for its own failures
 * (no route, refused, host key, login), a shell 127 for a command not
 * found; dial-stdio says itself what went wrong (and never exits 255). */
static void report(const struct transport *t, int status)
{
	char line[256];
	last_line(t->errfd, line, sizeof line);
	const char *h = ssh_target.host;
	if (WIFSIGNALED(status))
		fprintf(stderr, "planet: ssh to %s was killed by signal %d\n", h, WTERMSIG(status));
	else if (WEXITSTATUS(status) == 255)
		fprintf(stderr, "planet: cannot reach or log in to %s over ssh: %s\n", h,
			*line ? line : "ssh failed");
	else if (WEXITSTATUS(status) == 127 && strstr(line, "planet"))
		fprintf(stderr, "planet: no planet command on %s (%s)\n", h, line);
	else if (*line)
		fprintf(stderr, "planet: %s: %s\n", h, line);
	else
		fprintf(stderr, "planet: the connection to %s over ssh closed before the box answered "
				"(ssh exit %d)\n", h, WEXITSTATUS(status));
}

void client_remote_no_box_answers(int fd)
{
	struct transport *t = ntransports ? find(fd) : NULL;
	if (t)
		t->no_box_ok = true;
}

bool client_remote_no_box(int fd)
{
	for (size_t i = ntransports; i-- > 0;)
		if (transports[i].fd == fd)
			return transports[i].no_box;
	return false;
}

void client_remote_lost(int fd)
{
	struct transport *t = ntransports ? find(fd) : NULL;
	if (!t || t->answered)
		return;
	int status = reap(t, REAP_WAIT_MS);
	if (t->no_box_ok && WIFEXITED(status) && WEXITSTATUS(status) == DIAL_NO_BOX) {
		t->no_box = true;
		close(t->errfd);
		return;
	}
	client_term_restore();
	report(t, status);
	close(t->errfd);
	exit(EXIT_PLANET);
}
