/* enter: a short-lived helper process in the running box, for a request
 * that changes it (bind, unbind, device add/remove). It is forked with every
 * signal blocked, reports one line on a pipe when it fails, and is watched
 * through a pidfd from the loop: the supervisor never waits for it. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

int inbox_job_start(struct inbox_job *h, void (*fn)(void *arg, int out), void *arg,
		    struct perr *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return perr_set(e, errno, "pipe");
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		inbox_signals_reset();
		close(p[0]);
		fn(arg, p[1]);
		_exit(127);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return perr_set(e, err, "fork");
	}
	h->out = p[0];
	if ((h->pidfd = pidfd_open(pid, 0)) < 0) {
		err = errno;
		cleanup_childp(&pid);
		return perr_set(e, err, "pidfd_open");
	}
	return 0;
}

bool inbox_job_ended(struct inbox_job *h, bool kill_it, siginfo_t *si)
{
	*si = (siginfo_t){ 0 };
	if (waitid(P_PIDFD, (id_t)h->pidfd, si, WEXITED | WNOHANG) == 0 && si->si_pid)
		return true;
	if (kill_it) {
		(void)pidfd_send_signal(h->pidfd, SIGKILL, NULL, 0);
		(void)waitid(P_PIDFD, (id_t)h->pidfd, si, WEXITED);
	}
	return false;
}

bool inbox_job_message(struct inbox_job *h, char *msg, size_t len)
{
	ssize_t n = read(h->out, msg, len - 1);
	msg[n > 0 ? n : 0] = 0;
	return n > 0;
}

void inbox_job_close(struct inbox_job *h)
{
	if (h->pidfd >= 0)
		close(h->pidfd);
	if (h->out >= 0)
		close(h->out);
	h->pidfd = h->out = -1;
}
