/*
 * sdboot: time a container manager from launch to READY=1, and from the stop
 * request to its exit. Used by bench/systemd.sh for planet and systemd-nspawn
 * alike, so both are measured by the same clock and the same code.
 *
 *   sdboot [-t SEC] [-l LOG] [-p PIDFILE] [-c CHECK] [-s STOPCMD | -k SIGNAL] -- CMD [ARG...]
 *
 * It binds a private datagram socket, starts CMD with NOTIFY_SOCKET pointing
 * at it (stdin /dev/null, stdout+stderr to LOG), and waits for a message with
 * a READY=1 line. Then it runs CHECK (sh -c, with $SUP_PID = CMD's pid; not
 * timed), then asks CMD to stop: by running STOPCMD (sh -c, $SUP_PID set) or
 * by sending SIGNAL (a number; default 15) to CMD, and waits for CMD to exit.
 * Prints, on stdout:
 *   ready_ms X.XXX     launch -> READY=1
 *   stop_ms Y.YYY      stop request -> CMD reaped
 *   status N           CMD's exit status (128+S when killed by S)
 * Any step that exceeds -t SEC (default 60) stops CMD (SIGTERM, SIGKILL 15 s
 * later) and exits 1; SIGINT/SIGTERM/SIGHUP to sdboot stop CMD the same way,
 * then sdboot dies of that signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static pid_t child = -1;
static char sock_path[108];

/* Stop CMD: SIGTERM (its own orderly halt), SIGKILL after grace_ms. */
static void stop_child(int grace_ms)
{
	if (child <= 0)
		return;
	kill(child, SIGTERM);
	for (int i = 0; i < grace_ms; i++) {
		if (waitpid(child, NULL, WNOHANG) == child) {
			child = -1;
			return;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = -1;
}

static void die_kill(const char *why)
{
	fprintf(stderr, "sdboot: %s\n", why);
	stop_child(15000);
	if (sock_path[0])
		unlink(sock_path);
	exit(1);
}

/* Interrupted: halt CMD the orderly way, then die of the same signal so that
 * the calling shell sees the interruption. */
static void on_signal(int sig)
{
	stop_child(15000);
	if (sock_path[0])
		unlink(sock_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static pid_t run_sh(const char *cmd)
{
	char pidbuf[16];
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)child);
	pid_t p = fork();
	if (p == 0) {
		setenv("SUP_PID", pidbuf, 1);
		unsetenv("NOTIFY_SOCKET");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

/* Wait for child with a deadline; returns its wait status. */
static int reap(double deadline)
{
	int st;
	for (;;) {
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child)
			return st;
		if (r < 0 && errno != EINTR)
			die_kill("waitpid failed");
		if (now_ms() > deadline)
			die_kill("timeout waiting for exit");
		struct timespec ts = { 0, 200000 }; /* 0.2 ms poll */
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	double timeout_s = 60;
	const char *log = "/dev/null", *pidfile = NULL, *check = NULL, *stopcmd = NULL;
	int stopsig = SIGTERM, o;
	while ((o = getopt(argc, argv, "+t:l:p:c:s:k:")) != -1) {
		switch (o) {
		case 't': timeout_s = atof(optarg); break;
		case 'l': log = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'c': check = optarg; break;
		case 's': stopcmd = optarg; break;
		case 'k': stopsig = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: sdboot [-t SEC] [-l LOG] [-p PIDFILE] [-c CHECK] [-s STOPCMD | -k SIG] -- CMD...\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(sock_path, sizeof sock_path, "/tmp/sdboot-%d.sock", (int)getpid());
	unlink(sock_path);
	memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("sdboot: notify socket");
		return 1;
	}

	double t0 = now_ms();
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		setenv("NOTIFY_SOCKET", sock_path, 1);
		int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)child);
			fclose(f);
		}
	}

	double deadline = t0 + timeout_s * 1e3, t_ready = -1;
	char buf[4096];
	while (t_ready < 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 20);
		if (n > 0) {
			ssize_t len = recv(fd, buf, sizeof buf - 1, 0);
			if (len > 0) {
				double t = now_ms();
				buf[len] = 0;
				for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
					if (strcmp(l, "READY=1") == 0)
						t_ready = t;
			}
		}
		int st;
		if (t_ready < 0 && waitpid(child, &st, WNOHANG) == child) {
			child = -1;
			die_kill("command exited before READY=1");
		}
		if (t_ready < 0 && now_ms() > deadline)
			die_kill("timeout waiting for READY=1");
	}
	printf("ready_ms %.3f\n", t_ready - t0);
	fflush(stdout);

	if (check) {
		pid_t c = run_sh(check);
		waitpid(c, NULL, 0);
		fflush(stdout);
	}

	double t1 = now_ms();
	pid_t sc = -1;
	if (stopcmd)
		sc = run_sh(stopcmd);
	else
		kill(child, stopsig);
	int st = reap(now_ms() + timeout_s * 1e3);
	double t2 = now_ms();
	if (sc > 0)
		waitpid(sc, NULL, 0);
	printf("stop_ms %.3f\n", t2 - t1);
	printf("status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	unlink(sock_path);
	return 0;
}
