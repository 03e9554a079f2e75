/* Hooks: host commands run at points of a box's life, as OCI runtimes and
 * LXC have them. Each gets the box's state as one JSON object on stdin
 * (the OCI state's fields, plus planet's rootfs and state dir), a clean
 * environment, its own process group, and at most hook_timeout seconds;
 * its stdout and stderr are collected (the first HOOK_OUT_MAX bytes) for
 * the message when it fails. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOOK_OUT_MAX 2048
#define HOOK_MSG_OUT 400 /* of which the error line quotes this much */
#define HOOK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool box_hooks_any(const struct box_config *cfg, enum hook_kind k)
{
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (cfg->hooks[i].kind == k)
			return true;
	return false;
}

/* A JSON string: '"', '\' and control characters escaped. */
static int json_str(struct strbuf *b, const char *s)
{
	if (sb_append(b, "\"", 1) < 0)
		return -1;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int r = ch == '"' || ch == '\\' ? sb_printf(b, "\\%c", ch)
			: ch < 0x20		? sb_printf(b, "\\u%04x", ch)
						: sb_append(b, s, 1);
		if (r < 0)
			return -1;
	}
	return sb_append(b, "\"", 1);
}

static int state_json(struct strbuf *b, const struct hook_state *st)
{
	if (sb_printf(b, "{\"ociVersion\":\"1.0.2\",\"id\":") < 0 || json_str(b, st->id) < 0 ||
	    sb_printf(b, ",\"status\":\"%s\"", st->status) < 0 ||
	    (st->pid > 0 && sb_printf(b, ",\"pid\":%d", (int)st->pid) < 0) ||
	    sb_printf(b, ",\"rootfs\":") < 0 || json_str(b, st->rootfs) < 0 ||
	    sb_printf(b, ",\"state_dir\":") < 0 || json_str(b, st->state_dir) < 0 ||
	    sb_printf(b, ",\"annotations\":{}}\n") < 0)
		return -1;
	return 0;
}

static __attribute__((noreturn)) void hook_child(const struct hook_spec *h, const char *id,
						 int in, int out)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3, ~0U, 0);
	nofile_limit_restore();
	char kind[32], box[64];
	snprintf(kind, sizeof kind, "PLANET_HOOK=%s", hook_kind_name(h->kind));
	snprintf(box, sizeof box, "PLANET_BOX_ID=%s", id);
	char *env[] = { "PATH=" HOOK_PATH, kind, box, NULL };
	execve(h->argv[0], h->argv, env);
	dprintf(2, "exec %s: %s\n", h->argv[0], strerror(errno));
	_exit(127);
}

/* Collect output until the hook exits or the deadline passes. Returns the
 * wait status, or -1 on timeout (the group is killed). */
static int hook_wait(pid_t pid, int out, unsigned timeout_sec, char *buf, size_t *len)
{
	_cleanup_fd_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	unsigned long long deadline = now_ns() + (unsigned long long)timeout_sec * 1000000000ull;
	bool exited = false, eof = false;
	int status;
	while (pidfd >= 0 && !exited) {
		unsigned long long now = now_ns();
		if (now >= deadline)
			break;
		/* poll skips a negative fd: after EOF only the exit counts. */
		struct pollfd fds[2] = { { .fd = eof ? -1 : out, .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN } };
		int left = (int)((deadline - now) / 1000000ull) + 1;
		if (poll(fds, 2, left) < 0 && errno != EINTR)
			break;
		exited = fds[1].revents & POLLIN;
		/* After the exit: whatever is still in the pipe, without
		 * waiting for a grandchild that holds it open. */
		while (!eof) {
			char tmp[512];
			ssize_t n = read(out, tmp, sizeof tmp);
			eof = n == 0;
			if (n <= 0)
				break;
			size_t room = HOOK_OUT_MAX - *len, keep = room < (size_t)n ? room : (size_t)n;
			memcpy(buf + *len, tmp, keep);
			*len += keep;
		}
	}
	if (!exited) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return exited ? status : -1;
}

static int hook_run(const struct box_config *cfg, const struct hook_spec *h,
		    const struct hook_state *st, struct perr *e)
{
	_cleanup_strbuf_ struct strbuf json = { 0 };
	int in[2], out[2];
	if (state_json(&json, st) < 0)
		return perr_set(e, ENOMEM, "hook");
	if (pipe2(in, O_CLOEXEC) < 0)
		return perr_set(e, errno, "hook pipe");
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
		close(in[0]);
		close(in[1]);
		return perr_set(e, errno, "hook pipe");
	}
	pid_t pid = fork();
	if (pid == 0)
		hook_child(h, st->id, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return perr_set(e, errno, "fork hook");
	}
	/* The state is far below a pipe's capacity: this never blocks; a
	 * hook that does not read its stdin is not an error. */
	(void)!write(in[1], json.s, json.len);
	close(in[1]);
	char buf[HOOK_OUT_MAX + 1], esc[HOOK_MSG_OUT + 4];
	size_t len = 0;
	int status = hook_wait(pid, out[0], cfg->hook_timeout_sec, buf, &len);
	close(out[0]);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	str_escape(esc, sizeof esc, buf, len, 0);
	const char *kind = hook_kind_name(h->kind);
	if (status == -1)
		return perr_set(e, 0, "%s hook %s: killed after %us (hook_timeout)%s%s", kind,
				h->argv[0], cfg->hook_timeout_sec, len ? ": " : "", esc);
	if (WIFSIGNALED(status))
		return perr_set(e, 0, "%s hook %s: killed by signal %d%s%s", kind, h->argv[0],
				WTERMSIG(status), len ? ": " : "", esc);
	if (WEXITSTATUS(status) != 0)
		return perr_set(e, 0, "%s hook %s: exit status %d%s%s", kind, h->argv[0],
				WEXITSTATUS(status), len ? ": " : "", esc);
	return 0;
}

int box_hooks_run(const struct box_config *cfg, enum hook_kind k, const struct hook_state *st,
		  struct perr *e)
{
	for (size_t i = 0; i < cfg->n_hooks; i++) {
		if (cfg->hooks[i].kind != k)
			continue;
		struct perr he = { 0 };
		if (hook_run(cfg, &cfg->hooks[i], st, &he) == 0)
			continue;
		if (k == HOOK_PRESTART) {
			*e = he;
			return -1;
		}
		plog(LOG_WARNING, "%s", he.msg);
	}
	return 0;
}
